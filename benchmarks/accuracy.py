"""Accuracy of duplicate groups and held-out queries: simgui against its peers, in one run.

    python benchmarks/accuracy.py [--seed 7] [--sweep] [--no-peers]

simgui runs as a user runs it (`simgui-cli index`, `groups --json`, `query --json`,
default settings). The peers get the benefit of the doubt: each is scored at the
threshold that gives it its best F1 on this very set (an oracle no user has).

Pair metrics: every pair of files in one exact/near group is a predicted pair;
the truth is every pair of files made from the same source photo. Per family
(dataset.py, traps.py): recall of each edit family (a copy found with its original)
and near precision of each trap (different photos sharing a background, chrome,
frame or scene), then the traps' wrong near pairs along the app's strict-to-loose slider.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WORK = HERE.parent / ".bench"


def truth_pairs(labels: dict[str, str]) -> set[frozenset]:
    by_source: dict[str, list[str]] = {}
    for path, source in labels.items():
        by_source.setdefault(source, []).append(path)
    return {frozenset(p) for files in by_source.values() for p in itertools.combinations(files, 2)}


def ambiguous_pairs(truth: dict) -> set[frozenset]:
    """Pairs across sources that truth.json marks ambiguous: removed from every method's predictions."""
    sources = {frozenset(pair) for pair in truth.get("ambiguous", [])}
    labels = truth["library"]
    return {frozenset((a, b)) for a, b in itertools.combinations(labels, 2)
            if frozenset((labels[a], labels[b])) in sources}


def partners(truth: dict) -> dict[str, set[str]]:
    """source -> the sources it is ambiguous with: their files are dropped from its query rankings."""
    found: dict[str, set[str]] = {}
    for a, b in truth.get("ambiguous", []):
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return found


def first_relevant_hit(ranking: list[str], query_source: str, truth: dict) -> bool:
    junk = partners(truth).get(query_source, set())
    ranked = [p for p in ranking if truth["library"][p] not in junk]
    return bool(ranked) and truth["library"][ranked[0]] == query_source


def pair_scores(predicted: set[frozenset], truth: set[frozenset], ignored: set[frozenset] = frozenset()) -> dict:
    predicted = predicted - ignored
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "false_pairs": len(predicted - truth),
            "missed_pairs": len(truth - predicted)}


def groups_to_pairs(groups: list[list[str]]) -> set[frozenset]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


def cli(library: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), *args],
                          check=True, capture_output=True, text=True).stdout


def run_simgui(data: Path, truth: dict) -> dict:
    library = WORK / "accuracy-library"
    subprocess.run(["rm", "-rf", str(library)], check=True)
    cli(library, "index", str(data / "library"))
    groups = json.loads(cli(library, "groups", "--json"))["groups"]
    dup_groups = [[m["path"] for m in g["members"]] for g in groups if g["kind"] in ("exact", "near")]
    scores = pair_scores(groups_to_pairs(dup_groups), truth_pairs(truth["library"]), ambiguous_pairs(truth))
    scores["pairs"] = groups_to_pairs(dup_groups)
    queries = list(truth["queries"])
    answers = json.loads(cli(library, "query", *queries, "--top", "20", "--json"))
    hits = sum(first_relevant_hit([r["path"] for r in a["results"]], truth["queries"][a["query"]], truth)
               for a in answers)
    scores["top1"] = hits / len(queries)
    # "similar" groups claim one scene or subject: a pair of two different photos in one is a wrong grouping
    similar = groups_to_pairs([[m["path"] for m in g["members"]] for g in groups if g["kind"] == "similar"])
    sources, ambiguous = truth["library"], ambiguous_pairs(truth)
    wrong = [p for p in similar if len({sources[q] for q in p}) == 2 and p not in ambiguous]
    print(f"simgui 'similar' groups: {len(similar)} pairs, {len(wrong)} of them between different photos")
    return scores


def best_threshold(distances: dict[frozenset, int], truth: set[frozenset], ignored: set[frozenset],
                   thresholds) -> tuple[int, dict]:
    best = None
    for t in thresholds:
        s = pair_scores({pair for pair, d in distances.items() if d <= t}, truth, ignored)
        if best is None or s["f1"] > best[1]["f1"]:
            best = (t, s)
    return best


def run_imagehash(truth: dict, kind: str) -> dict:
    import imagehash
    from PIL import Image

    function = {"phash": imagehash.phash, "dhash": imagehash.dhash}[kind]

    def h(path):
        with Image.open(path) as img:  # as imagehash's users call it
            return function(img)

    lib = {p: h(p) for p in truth["library"]}
    distances = {frozenset((a, b)): lib[a] - lib[b] for a, b in itertools.combinations(lib, 2)}
    t, scores = best_threshold(distances, truth_pairs(truth["library"]), ambiguous_pairs(truth), range(0, 33))
    scores["pairs"] = {pair for pair, d in distances.items() if d <= t}
    hits = 0
    for q, source in truth["queries"].items():
        hq = h(q)
        hits += first_relevant_hit(sorted(lib, key=lambda p: hq - lib[p]), source, truth)
    scores["top1"] = hits / len(truth["queries"])
    scores["threshold"] = t
    return scores


def run_czkawka(data: Path, truth: dict) -> dict:
    from czkawka import ImageSimilarity

    truth_set = truth_pairs(truth["library"])
    ignored = ambiguous_pairs(truth)
    best = None
    for level in (0, 2, 5, 8, 10, 15, 20, 25, 30, 40):
        finder = ImageSimilarity()
        finder.set_directories([data / "library"])
        finder.set_similarity(level)
        groups = [[str(p) for p in g] for g in finder.find_similar()]
        s = pair_scores(groups_to_pairs(groups), truth_set, ignored)
        s["pairs"] = groups_to_pairs(groups)
        if best is None or s["f1"] > best[1]["f1"]:
            best = (level, s)
    level, scores = best
    finder = ImageSimilarity()
    lib = {p: finder.hash_image(p) for p in truth["library"]}
    hits = 0
    for q, source in truth["queries"].items():
        hq = finder.hash_image(q)
        hits += first_relevant_hit(sorted(lib, key=lambda p: finder.compare_hashes(hq, lib[p])), source, truth)
    scores["top1"] = hits / len(truth["queries"])
    scores["threshold"] = level
    return scores


def sweep(data: Path, truth: dict) -> None:
    """Grid of thresholds for choosing config.Thresholds (run on a different seed than the report)."""
    from dataclasses import replace

    from simgui.core.matching.rule import DEFAULT_THRESHOLDS
    from simgui.core.matching.grouping import GroupFinder
    from simgui.core.library import Library

    library = Library(WORK / "accuracy-library")
    truth_set = truth_pairs(truth["library"])
    ignored = ambiguous_pairs(truth)
    loose = replace(DEFAULT_THRESHOLDS, candidate=0.4, neighbours=24)
    evidence = GroupFinder(library, loose).evidence()
    for agreement in (0.05, 0.06, 0.07, 0.08, 0.09):
        t = replace(DEFAULT_THRESHOLDS, near_agreement=agreement)
        groups = GroupFinder(library, t).find(evidence)
        pairs = groups_to_pairs([[m.image.path for m in g.members] for g in groups if g.kind != "similar"])
        s = pair_scores(pairs, truth_set, ignored)
        print(f"agreement {agreement:.2f}: F1 {s['f1']:.3f} "
              f"P {s['precision']:.3f} R {s['recall']:.3f} false {s['false_pairs']} missed {s['missed_pairs']}")


def family_scores(pairs: set[frozenset], truth: dict) -> dict[str, dict]:
    """Per family: how many of its copies share a group with their anchor (the source's original, or a
    trap scene's own shot), and the right and wrong predicted pairs that touch its files."""
    labels, anchors = truth["library"], truth["anchors"]
    pairs = pairs - ambiguous_pairs(truth)
    members: dict[str, set[str]] = {}
    for path, family in truth["families"].items():
        members.setdefault(family, set()).add(path)
    found = {}
    for family, files in members.items():
        copies = [p for p in files if anchors[labels[p]] != p]
        touching = [pair for pair in pairs if pair & files]
        wrong = sum(len({labels[q] for q in pair}) == 2 for pair in touching)
        found[family] = {"copies": len(copies), "wrong": wrong,
                         "found": sum(frozenset((p, anchors[labels[p]])) in pairs for p in copies),
                         "precision": 1 - wrong / len(touching) if touching else 1.0}
    return found


def existing_scores(pairs: set[frozenset], truth: dict) -> dict:
    """Pair scores on the families that were there before issue 15's traps: comparable with older runs."""
    keep = {p for p, family in truth["families"].items() if family in truth["existing_families"]}
    inside = {pair for pair in truth_pairs(truth["library"]) if pair <= keep}
    return pair_scores({pair for pair in pairs if pair <= keep}, inside, ambiguous_pairs(truth))


def print_families(rows: dict[str, dict], truth: dict) -> None:
    """Edit families: recall (copies found with their source). Traps: near precision and wrong pairs."""
    print("\nPer family (edits: recall, copies found with their original; traps: near precision of the pairs "
          "touching the family, wrong pairs, and the trap pictures' own copies found):")
    print("| family | kind | " + " | ".join(name.split(" (")[0] for name in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    for family, kind in truth["family_kinds"].items():
        cells = []
        for s in rows.values():
            f = s["families"][family]
            if kind == "edit":
                cells.append(f"{f['found'] / f['copies']:.2f} ({f['found']}/{f['copies']})")
            else:
                cells.append(f"P {f['precision']:.2f}, {f['wrong']} wrong, {f['found']}/{f['copies']} found")
        if kind != "source":
            print(f"| {family} | {kind} | " + " | ".join(cells) + " |")


def print_totals(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title}")
    print("| method | pair precision | pair recall | pair F1 | false pairs | missed pairs | query top-1 |")
    print("|---|---|---|---|---|---|---|")
    for name, s in rows.items():
        extra = f" (t={s['threshold']})" if "threshold" in s else ""
        print(f"| {name}{extra} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['false_pairs']} | "
              f"{s['missed_pairs']} | {s['top1']:.3f} |")


def slider_traps(truth: dict, positions=range(0, 101, 10)) -> None:
    """Wrong exact/near pairs on the traps at each position of the app's strict-to-loose slider, regrouped
    from the library simgui just built, as the app regroups (issue 15 wants 0 everywhere)."""
    from simgui.core.matching.rule import thresholds_at
    from simgui.core.library import Library

    traps = [family for family, kind in truth["family_kinds"].items() if kind == "trap"]
    labels = truth["library"]
    print("\nWrong near pairs on the traps along the strict (0) to loose (100) slider:")
    print("| slider | " + " | ".join(traps) + " | all traps | wrong pairs, whole set | most photos in one group "
          "| pair recall |")
    print("|---|" + "---|" * (len(traps) + 4))
    library = Library(WORK / "accuracy-library")
    for position in positions:
        groups = [[m.image.path for m in g.members] for g in library.groups(thresholds_at(position))
                  if g.kind in ("exact", "near")]
        pairs = groups_to_pairs(groups)
        families = family_scores(pairs, truth)
        wrong = [families[family]["wrong"] for family in traps]
        whole = pair_scores(pairs, truth_pairs(labels), ambiguous_pairs(truth))
        most = max((len({labels[p] for p in g}) for g in groups), default=0)
        print(f"| {position} | " + " | ".join(map(str, wrong)) + f" | {sum(wrong)} | {whole['false_pairs']} | "
              f"{most} | {whole['recall']:.3f} |")
    library.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sweep", action="store_true", help="tune thresholds instead of reporting")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    from dataset import build

    data = WORK / f"accuracy-seed{args.seed}"
    if not (data / "truth.json").exists() or "families" not in json.loads((data / "truth.json").read_text()):
        shutil.rmtree(data, ignore_errors=True)  # built before the families were tagged: built again
        build(data, seed=args.seed)
    truth = json.loads((data / "truth.json").read_text())
    print(f"{len(truth['library'])} library files from {truth['sources']} source photos, "
          f"{len(truth['queries'])} held-out queries, {len(truth_pairs(truth['library']))} true pairs")
    rows = {"simgui (defaults)": run_simgui(data, truth)}
    if args.sweep:
        sweep(data, truth)
        return
    slider_traps(truth)
    if not args.no_peers:
        rows["pHash (imagehash, best threshold)"] = run_imagehash(truth, "phash")
        rows["dHash (imagehash, best threshold)"] = run_imagehash(truth, "dhash")
        rows["czkawka (best similarity level)"] = run_czkawka(data, truth)
    for s in rows.values():
        s["families"] = family_scores(s["pairs"], truth)
    print_families(rows, truth)
    print_totals("Whole set (peers at the threshold best for them on it):", rows)
    print_totals("The families before issue 15's traps (their files only):",
                 {name: {**s, **existing_scores(s["pairs"], truth)} for name, s in rows.items()})


if __name__ == "__main__":
    main()
