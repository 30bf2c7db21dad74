"""Clusters of matching pairs that do not chain: connected components, then average linkage inside each.

Connected components alone chain unrelated items (A~B, B~C, so A with C); inside a component, clusters merge
only while the mean score over *all* their cross pairs stays above the threshold. Photos (grouping.py) and
video clips (clips.py) are clustered alike; photos left alone may then join a cluster (attach_stragglers).
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
    """`clusters` (average_linkage's) with each item that none holds joined to the one cluster that all its
    partners at the threshold are in, when two of them are, or one at `solid` or more, it lies inside one of them
    (`inside(item, partner)`), and no member refused it (REFUSED) or doubts it (`doubts(a, b)`, a < b). An item
    joins a cluster as linkage made it, never through another straggler: nothing chains.

    Why: a weak copy (a small crop, a third-size copy at JPEG quality 30) lines up with its original and a few
    copies but hardly with the rest (two weak copies share a part of a part), and the mean over a big group left
    it out, however well it lined up with the photo the group is made of. A different picture lines up that way
    by chance, at the floor of agreements: once (`solid`: a flat grey picture lined up 0.078 with one crop of
    another grey picture's group, 0.04-0.06 with the rest), or with a few members while the pixels do not bear
    out its faint agreement with others (photos sharing a pasted poster, the other half of a star field: the
    doubted pairs of an attacker's 44 cases). A weak copy lies within its original; a panorama's next frame,
    whose overlap with the frame beside it the pixels bear out as a crop's, lies half outside every copy of it."""
    member_of = {item: index for index, cluster in enumerate(clusters) for item in cluster}
    partners: dict[int, list[tuple[int, float]]] = defaultdict(list)  # straggler -> (member, score) at the threshold
    for (a, b), score in scores.items():
        if score >= threshold:
            for item, other in ((a, b), (b, a)):
                if item not in member_of and other in member_of:
                    partners[item].append((other, score))
    grown = [list(cluster) for cluster in clusters]
    for item, found in sorted(partners.items()):
        joined = {member_of[member] for member, _ in found}
        if len(joined) != 1 or (len(found) < 2 and found[0][1] < solid):
            continue
        index = joined.pop()
        pairs = [(min(item, m), max(item, m)) for m in clusters[index]]
        if any(scores.get(pair) == REFUSED or doubts(*pair) for pair in pairs):
            continue
        if any(inside(item, member) for member, _ in found):
            grown[index].append(item)
    return [sorted(cluster) for cluster in grown]
