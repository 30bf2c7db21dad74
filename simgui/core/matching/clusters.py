"""Clusters of matching pairs that do not chain: connected components, then average linkage inside each.

Connected components alone chain unrelated items (A~B, B~C, so A with C); inside a component, clusters merge
only while the mean score over *all* their cross pairs stays above the threshold. Photos (grouping.py) and
video clips (clips.py) are clustered alike; photos left alone, or two weak copies linkage put together, may then
join a cluster (attach_stragglers).
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Callable

REFUSED = -1e6  # the user said "not duplicates": no mean can absorb this


def components(edges: list[tuple[int, int]]) -> list[list[int]]:
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen: set[int] = set()
    found = []
    for start in sorted(neighbours):
        if start in seen:
            continue
        component, frontier = [], [start]
        seen.add(start)
        while frontier:
            node = frontier.pop()
            component.append(node)
            for n in neighbours[node] - seen:
                seen.add(n)
                frontier.append(n)
        found.append(sorted(component))
    return found


def average_linkage(nodes: list[int], scores: dict[tuple[int, int], float], threshold: float) -> list[list[int]]:
    """Merges the closest clusters while their mean pairwise score stays at or above `threshold`.

    `scores` holds pairs (a, b), a < b; a pair not in it scores 0. The mean over all cross pairs is
    what stops chaining: two groups of copies joined by one or two weak matches have a mean near zero.
    Sparse (a heap of linked cluster pairs), so a component of thousands of near-copies stays fast."""
    members = {n: [n] for n in nodes}  # a cluster is named by its smallest node
    link: dict[int, dict[int, float]] = defaultdict(dict)  # cluster -> linked cluster -> sum of pair scores
    for (a, b), score in scores.items():
        link[a][b] = link[b][a] = score
    heap = [(-score, a, b) for (a, b), score in scores.items() if score >= threshold]
    heapq.heapify(heap)  # best mean first; equal means: the lowest-named pair, as a scan in order would pick
    while heap:
        negative_mean, i, j = heapq.heappop(heap)
        if i not in members or j not in members or \
                link[i].get(j, 0.0) / (len(members[i]) * len(members[j])) != -negative_mean:
            continue  # a cluster merged since this entry was pushed
        members[i] += members.pop(j)
        for k, total in link.pop(j).items():
            del link[k][j]
            if k != i:
                link[i][k] = link[k][i] = link[i].get(k, 0.0) + total
        for k, total in link[i].items():
            mean = total / (len(members[i]) * len(members[k]))
            if mean >= threshold:
                heapq.heappush(heap, (-mean, min(i, k), max(i, k)))
    return [sorted(members[c]) for c in sorted(members) if len(members[c]) > 1]


def attach_stragglers(clusters: list[list[int]], scores: dict[tuple[int, int], float], threshold: float,
                      solid: float, doubts: Callable[[int, int], bool], inside: Callable[[int, int], bool]
                      ) -> list[list[int]]:
    """`clusters` (average_linkage's) with each straggler joined to the one bigger cluster that all its partners
    at the threshold are in, when two of them are, or one at `solid` or more, it lies inside one of them
    (`inside(item, partner)`), and no member refused it (REFUSED) or doubts it (`doubts(a, b)`, a < b). A
    straggler is an item that no cluster holds, or a cluster of two whose items each have a partner there (two
    weak copies that line up with each other better than with the rest), which joins whole: its two partners, one
    each, are the two asked. It joins a cluster as linkage made it, never through another straggler: nothing
    chains.

    Why: a weak copy (a small crop, a third-size copy at JPEG quality 30) lines up with its original and a few
    copies but hardly with the rest (two weak copies share a part of a part), and the mean over a big group left
    it out, however well it lined up with the photo the group is made of. Two weak copies (a crop, and a small
    copy of another crop) can line up with each other well enough for linkage to make them a group of their own
    beside their original's: they join it as one. A different picture lines up that way by chance, at the floor
    of agreements: once (`solid`: a flat grey picture lined up 0.078 with one crop of another grey picture's
    group, 0.04-0.06 with the rest), or with a few members while the pixels do not bear out its faint agreement
    with others (photos sharing a pasted poster, the other half of a star field: the doubted pairs of an
    attacker's 44 cases). A weak copy lies within its original; a panorama's next frame, whose overlap with the
    frame beside it the pixels bear out as a crop's, lies half outside every copy of it."""
    member_of = {item: index for index, cluster in enumerate(clusters) for item in cluster}
    stragglers = [[item] for item in sorted({item for pair in scores for item in pair} - member_of.keys())]
    stragglers += [cluster for cluster in clusters if len(cluster) == 2]
    straggler_of = {item: n for n, straggler in enumerate(stragglers) for item in straggler}
    partners: dict[int, list[tuple[int, int, float]]] = defaultdict(list)  # straggler -> (its item, member, score)
    for (a, b), score in scores.items():
        if score >= threshold:
            for item, other in ((a, b), (b, a)):
                if item in straggler_of and other in member_of and member_of[other] != member_of.get(item):
                    partners[straggler_of[item]].append((item, other, score))
    target: dict[int, int] = {}  # straggler -> the cluster it joins
    for n, found in sorted(partners.items()):
        straggler = stragglers[n]
        joined = {member_of[member] for _, member, _ in found}
        if len(joined) != 1 or (len(found) < 2 and found[0][2] < solid):
            continue
        index = joined.pop()
        if len(clusters[index]) <= len(straggler) or {item for item, _, _ in found} != set(straggler):
            continue
        pairs = [(min(item, m), max(item, m)) for item in straggler for m in clusters[index]]
        if any(scores.get(pair) == REFUSED or doubts(*pair) for pair in pairs):
            continue
        if any(inside(item, member) for item, member, _ in found):
            target[n] = index
    grown = [list(cluster) for cluster in clusters]
    for n, index in target.items():
        grown[index] += stragglers[n]
    # a cluster of two that joined a bigger one is gone, and with it what would have joined it: that would chain
    moved = {member_of[stragglers[n][0]] for n in target if len(stragglers[n]) > 1}
    grown = [cluster for index, cluster in enumerate(grown) if index not in moved]
    return [sorted(cluster) for cluster in grown]
