"""Learning from decisions: does a user's own idea of "duplicate" carry over from 20 decisions to photos
they never judged?

    python benchmarks/learning.py [--seed 23] [--decisions 20]

The simulated user keeps black-and-white versions as photos of their own:
for them a greyscale copy and a colour copy of one photo are *not*
duplicates, while the default groups them (rightly, for most people). The
accuracy set's sources are split in two halves. The user reviews the default
groups of half A only, making 20 decisions as in the app: a Merge of the
copies that are one photo to them, a "Not duplicates" for each that is not. Then the pair F1 against this
user's truth is measured on half B, which they never saw, and on half A,
before and after learning. A control user who agrees with the default makes
20 decisions too: learning must not make their results worse.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from accuracy import WORK, cli, groups_to_pairs, pair_scores  # noqa: E402

from simgui.core.matching.grouping import GroupFinder  # noqa: E402
from simgui.core.matching.learning import learn  # noqa: E402
from simgui.core.library import Library  # noqa: E402


def is_grey_copy(path: str) -> bool:
    return "_grayscale" in Path(path).name


def keeps_black_and_white_apart(a: str, b: str, source: dict[str, str]) -> bool:
    return source[a] == source[b] and is_grey_copy(a) == is_grey_copy(b)


def agrees_with_default(a: str, b: str, source: dict[str, str]) -> bool:
    return source[a] == source[b]


def truth_for(user, paths: list[str], source: dict[str, str]) -> set[frozenset]:
    return {frozenset(p) for p in itertools.combinations(paths, 2) if user(*p, source)}


def decisions(user, groups, half: set[str], source: dict[str, str], wanted: int):
    """What the user does reviewing the default groups of their half, as in the app: per group, one Merge
    of the members that are the keeper's photo to them (pairs keeper-member), and one "Not duplicates"
    per member that is not. Returns (same pairs, different pairs, number of decisions)."""
    same, different, made = [], [], 0
    for group in groups:
        keeper = group.keeper.image
        if source[keeper.path] not in half or made >= wanted:
            continue
        members = [m.image for m in group.members if not m.keeper and source[m.image.path] in half]
        agreed = [m for m in members if user(keeper.path, m.path, source)]
        refused = [m for m in members if not user(keeper.path, m.path, source)][:wanted - made - bool(agreed)]
        if agreed:
            same += [(keeper, m) for m in agreed]
            made += 1
        different += [(keeper, m) for m in refused]
        made += len(refused)
    return same, different, made


def scores_on(groups, half: set[str], truth: set[frozenset], source: dict[str, str]) -> dict:
    predicted = {p for p in groups_to_pairs([[m.image.path for m in g.members] for g in groups])
                 if all(source[q] in half for q in p)}
    inside = {p for p in truth if all(source[q] in half for q in p)}
    return pair_scores(predicted, inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--decisions", type=int, default=20)
    args = parser.parse_args()
    data = WORK / f"accuracy-seed{args.seed}"
    if not (data / "truth.json").exists():
        sys.exit(f"run benchmarks/accuracy.py --seed {args.seed} first (it builds the photo set)")
    source = json.loads((data / "truth.json").read_text())["library"]
    library_dir = WORK / f"learning-library-{args.seed}"
    if not (library_dir / "library.db").exists():
        cli(library_dir, "index", str(data / "library"))
    library = Library(library_dir)
    default_groups = [g for g in library.groups() if g.kind in ("exact", "near")]
    sources = sorted(set(source.values()))
    halves = {"A (decided)": set(sources[0::2]), "B (held out)": set(sources[1::2])}
    vectors = dict(zip(*library.store.vectors(library.model_id, library.dim)[2:0:-1]))

    for name, user in (("keeps black-and-white apart", keeps_black_and_white_apart),
                       ("agrees with the default (control)", agrees_with_default)):
        truth = truth_for(user, list(source), source)
        pos, neg, made = decisions(user, default_groups, halves["A (decided)"], source, args.decisions)
        learnt = learn([(a.content_hash, b.content_hash) for a, b in pos],
                       [(a.content_hash, b.content_hash) for a, b in neg], vectors)
        trained_groups = [g for g in GroupFinder(library, preferences=learnt).find() if g.kind in ("exact", "near")]
        print(f"\nuser who {name}: {made} decisions ({made - len(neg)} merges giving {len(pos)} 'same photo' "
              f"pairs, {len(neg)} 'not duplicates'); "
              f"{'a projection was learnt' if learnt else 'too few of a kind: nothing learnt'}")
        print("| half | untrained F1 | trained F1 | change | false pairs | missed pairs |")
        print("|---|---|---|---|---|---|")
        for half_name, half in halves.items():
            before = scores_on(default_groups, half, truth, source)
            after = scores_on(trained_groups, half, truth, source)
            print(f"| {half_name} | {before['f1']:.3f} | {after['f1']:.3f} | {after['f1'] - before['f1']:+.3f} | "
                  f"{before['false_pairs']} -> {after['false_pairs']} | "
                  f"{before['missed_pairs']} -> {after['missed_pairs']} |")
    library.close()


if __name__ == "__main__":
    main()
