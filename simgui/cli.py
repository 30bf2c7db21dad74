"""simgui-cli: the engine for scripts and terminals (see DESIGN.md, "The CLI contract")."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

from simgui import __version__
from simgui.core.files.actions import ActionOutcome, FileActions, JournalError
from simgui.core.files.disposal import TO_TRASH, Disposal
from simgui.core.storage.exclusions import ExclusionError, Exclusions
from simgui.core.answers import (CSV_COLUMNS, action_answer, comparison_answer, group_answer, history_answer,
                                 query_answer)
from simgui.core.export import library_thumbnails, write_csv, write_export
from simgui.core.storage.config import default_library_dir
from simgui.core.media.decode import DecodeError, decode_file
from simgui.core.matching.differences import draw_differences
from simgui.core.media.embed import ModelError
from simgui.core.library import Library, LibraryError
from simgui.core.matching.keep_rules import DEFAULT_RULES, KeepRule, KeepRulesError
from simgui.core.indexing.pipeline import Progress

T = TypeVar("T")

READY_SECONDS = 30  # how long `watch` waits for its folders to be watched before saying so


def _print_json(value) -> None:
    text = json.dumps(value, indent=1, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: \u escapes keep the JSON valid and exact
        text = json.dumps(value, indent=1)
    sys.stdout.write(text + "\n")


class ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, a line every few seconds in a log."""

    def __init__(self, interval: float = 2.0):
        self.tty = sys.stderr.isatty()
        self.interval = 0.2 if self.tty else interval
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and p.done < p.total:
            return
        self.last = now
        left = f", {p.seconds_left:.0f} s left" if p.seconds_left is not None else ""
        if p.total == 0:
            line = p.current
        elif p.step:
            line = f"{p.step}: {p.done}/{p.total}{left}"
        elif p.checking:
            line = f"checking look-alikes: {p.done}/{p.total} pairs ({p.rate:.0f} pairs/s{left})"
        else:
            line = f"indexed {p.done}/{p.total} ({p.rate:.1f} images/s{left}, {p.skipped} skipped)"
        sys.stderr.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")


def cmd_index(library: Library, args) -> int:
    if args.paths:
        library.add_roots(args.paths)
    if not library.roots():
        raise LibraryError("no folders in this library yet: simgui-cli index FOLDER")
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())  # finish the batch in hand, then stop
    progress = ProgressLine()
    try:
        report = library.update(progress, cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.finish()
    print(f"{report.scanned} files seen: {_report_line(report)}", file=sys.stderr)
    for root in report.offline_roots:
        print(f"folder offline, kept as it was: {root}", file=sys.stderr)
    for folder in report.unreadable_folders:
        print(f"folder could not be read, its photos kept as they were: {folder}", file=sys.stderr)
    if report.cancelled:
        print("cancelled: run index again to finish", file=sys.stderr)
        return 130
    return 0


def _report_line(report) -> str:
    return f"{report.changes_text()}; {report.embedded} embedded, {report.reused} reused in {report.seconds:.1f} s"


@contextmanager
def _stopped_by_signals(stop):
    """SIGINT and SIGTERM call `stop` while the block runs (the long-running commands), then "stopped"."""
    handlers = {sig: signal.signal(sig, lambda *_: stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    print("stopped", file=sys.stderr)


def cmd_watch(library: Library, args) -> int:
    from simgui.core.jobs import Inbox, JobQueue, queued_watcher

    if not library.roots():
        raise LibraryError("no folders in this library yet: simgui-cli index FOLDER")
    stop = threading.Event()
    with _stopped_by_signals(stop.set):
        catch_up = library.update(ProgressLine(), stop)  # what changed while nothing was watching
        print(f"caught up: {_report_line(catch_up)}", file=sys.stderr)
        inbox = Inbox()  # the watcher's reports, printed from this thread
        jobs = JobQueue(library, inbox.post)
        watcher = queued_watcher(jobs, on_update=lambda r: print(f"updated: {_report_line(r)}",
                                                                  file=sys.stderr, flush=True))
        watcher.start()
        watcher.ready.wait(READY_SECONDS)  # "watching" is said once the folders really are watched
        print(f"watching {len(library.roots())} folder(s); Ctrl+C to stop", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            inbox.drain()
        watcher.stop()
        jobs.close()
    return 0


def cmd_serve(library: Library, args) -> int:
    from simgui.api import TOKEN_FILE, ApiServer, library_token, read_token_from

    given = read_token_from(args.token_file) if args.token_file else args.token or os.environ.get("SIMGUI_API_TOKEN")
    token = given or library_token(library)
    server = ApiServer(library, token, args.port)
    where = "the token you gave" if given else f"token in {library.folder / TOKEN_FILE}"
    print(f"serving http://127.0.0.1:{server.port} ({where}; API described at /openapi.json); Ctrl+C to stop",
          file=sys.stderr, flush=True)
    # shutdown() waits for serve_forever() to return: it must come from another thread than this one
    stopping: list[threading.Thread] = []

    def stop() -> None:
        stopping.append(threading.Thread(target=server.shutdown))
        stopping[-1].start()
    with _stopped_by_signals(stop):
        server.serve_forever()
    for thread in stopping:  # its jobs done before main() closes the library under them
        thread.join()
    return 0


def cmd_protect(library: Library, args) -> int:
    if args.paths:
        changed = library.set_protected(args.paths, protected=not args.remove)
        for folder in changed:
            print(f"{'no longer protected' if args.remove else 'protected'}: {folder}", file=sys.stderr)
    return _print_list("protected", library.protected_folders(), args.json)


def cmd_exclude(library: Library, args) -> int:
    if args.entries:
        current = list(library.exclusions().entries)
        try:
            given = Exclusions.of(args.entries).entries
            left_out = library.set_exclusions([e for e in current if e not in given] if args.remove
                                              else current + list(given))
        except ExclusionError as exc:
            raise LibraryError(str(exc)) from exc
        print(f"from the next index on, {len(left_out.entries)} folder(s) and pattern(s) are left out "
              f"(their files stay on disk)", file=sys.stderr)
    return _print_list("excluded", list(library.exclusions().entries), args.json)


def _print_list(key: str, items: list[str], as_json: bool) -> int:
    """A setting that is a list (protected folders, what is left out): {key: [...]}, or a line an item."""
    if as_json:
        _print_json({key: items})
    else:
        for item in items:
            print(item)
    return 0


def cmd_keep_rules(library: Library, args) -> int:
    rules = DEFAULT_RULES if args.reset else library.keep_rules()
    try:
        rules = rules.with_changes(order=_listed(args.order), formats=_listed(args.formats), folders=args.folders)
    except KeepRulesError as exc:
        print(f"simgui-cli: {exc}", file=sys.stderr)
        return 2
    if rules != library.keep_rules():
        library.set_keep_rules(rules)
    if args.json:
        _print_json(json.loads(rules.to_json()))
    else:
        for n, line in enumerate(rules.describe(), 1):
            print(f"{n}. {line}")
    return 0


def _listed(text: str | None) -> list[str] | None:
    """"a,b, c" as a list; None (not given) as None."""
    return None if text is None else [part for part in text.split(",") if part.strip()]


def cmd_stats(library: Library, args) -> int:
    stats = library.stats()
    if args.json:
        _print_json(stats)
    else:
        print(f"{stats['images']} images ({stats['unique']} distinct), {stats['skipped']} skipped, "
              f"{stats['roots']} folders; library {stats['library']}")
    return 0


def cmd_skipped(library: Library, args) -> int:
    skipped = [{"path": r.path, "reason": r.error} for r in library.store.skipped()]
    if args.json:
        _print_json({"skipped": skipped})
    else:
        for item in skipped:
            print(f"{item['path']}\t{item['reason']}")
    return 0


def cmd_groups(library: Library, args) -> int:
    measuring = ProgressLine()  # only after an upgrade of the check: its pairs measured again, once
    groups = library.groups(progress=measuring)
    measuring.finish()
    if args.json:
        _print_json({"groups": [group_answer(g) for g in groups]})
        return 0
    if args.csv:
        write_csv(groups, sys.stdout.buffer)
        return 0
    if args.html:
        write_export(groups, args.html, library_thumbnails(library.folder), ProgressLine())
        print(f"{len(groups)} groups written to {args.html}", file=sys.stderr)
        return 0
    for n, g in enumerate(groups, 1):
        print(f"group {n} ({g.kind}, {len(g.members)} {'clips' if g.keeper.image.is_clip else 'photos'})")
        for m in g.members:
            mark = "keep" if m.keeper else f"{m.score:.3f}"
            length = f"  {m.image.duration:6.1f} s {m.image.codec}" if m.image.is_clip else ""
            print(f"  {mark:>6}  {m.image.width}x{m.image.height}{length}  {m.size:>10}  "
                  + " + ".join(f.path for f in m.files))
    if not groups:
        print("no duplicates found")
    return 0


def cmd_query(library: Library, args) -> int:
    answers = library.query(args.images, args.top)
    failed = [path for path, result in answers if isinstance(result, str)]
    if args.json:
        _print_json([query_answer(path, result) for path, result in answers])
    else:
        for path, result in answers:
            print(path)
            if isinstance(result, str):
                print(f"  cannot read: {result}")
                continue
            for m in result:
                print(f"  {m.score:.3f}  {m.verdict:<9}  {m.image.path}")
    for path in failed:
        print(f"cannot read {path}", file=sys.stderr)
    return 1 if failed else 0


def cmd_map(library: Library, args) -> int:
    from simgui.core.matching.library_map import library_map

    points = library_map(library)
    if args.json:
        _print_json({"points": [{"path": p.path, "x": round(p.x, 4), "y": round(p.y, 4)} for p in points]})
    else:
        for p in points:
            print(f"{p.x:.4f}\t{p.y:.4f}\t{p.path}")
    return 0


def cmd_compare(library: Library, args) -> int:
    result = library.compare(args.a, args.b)
    if args.overlay and result.of_clips:
        print("--overlay shades a photo: it draws nothing for a clip", file=sys.stderr)
    elif args.overlay:
        picture = decode_file(os.path.abspath(args.a)).picture
        draw_differences(picture, result.content_box, result.differences).save(args.overlay)
    if args.json:
        _print_json(comparison_answer(result))
    else:
        moment = "; another moment of the same scene, not the same photo" if result.another_moment else ""
        print(f"{result.verdict} (similarity {result.score:.3f}, {result.evidence_text} {result.agreement:.2f}{moment})")
    return 0


def _file_action(library: Library, action: Callable[[FileActions], T]) -> T:
    """Runs `action` with the library's file actions as a job of the engine thread, the way the app, `watch`
    and the HTTP API do (core/jobs.py): one serialisation rule everywhere. The file actions settle what a
    crash left half done before anything else; an interrupted command still lets the running action finish."""
    from simgui.core.jobs import JobQueue

    jobs = JobQueue(library, deliver=lambda function, *args: function(*args))
    try:
        return jobs.submit("file action", lambda context: action(context.actions)).result()
    finally:
        jobs.close()


def _report_action(outcome: ActionOutcome, args, done: str) -> int:
    """Prints what an action did; exit status 1 when anything was left alone."""
    if args.json:
        _print_json(action_answer(outcome))
    else:
        for path in outcome.moved:
            print(f"{done}: {path}")
        if outcome.action_id is None and not outcome.moved and not outcome.refused:
            print("nothing to do")
    for path, why in outcome.refused.items():
        print(f"left alone: {path}: {why}", file=sys.stderr)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    return 1 if outcome.refused else 0


def cmd_delete(library: Library, args) -> int:
    outcome = _file_action(library, lambda actions: actions.delete_paths(args.paths))
    return _report_action(outcome, args, TO_TRASH.said())


def cmd_merge(library: Library, args) -> int:
    disposal = Disposal(os.path.abspath(args.to_folder) if args.to_folder else None, args.hard_link)
    outcome = _file_action(library, lambda actions: actions.merge_paths(args.keeper, args.paths, disposal))
    return _report_action(outcome, args, disposal.said())


def cmd_undo(library: Library, args) -> int:
    def undo(actions: FileActions) -> ActionOutcome:
        if args.action_id is not None and not actions.journal.actions(1, args.action_id):
            raise LibraryError(f"no action {args.action_id} in this library's history (see simgui-cli history)")
        return actions.undo(args.action_id)

    outcome = _file_action(library, undo)
    return _report_action(outcome, args, "restored")


def cmd_empty_trash(library: Library, args) -> int:
    outcome = _file_action(library, lambda actions: actions.empty_trash())
    return _report_action(outcome, args, "to the system trash")


def cmd_history(library: Library, args) -> int:
    answers = _file_action(library, lambda actions: [history_answer(a, actions.journal.moves(a.id))
                                                     for a in actions.history(args.limit)])
    if args.json:
        _print_json(answers)
        return 0
    for a in answers:
        state = " (undone)" if a["undone"] else f" (undo stuck: {a['undo_problem']})" if a["undo_problem"] else ""
        print(f"{a['id']:>5}  {a['at']}  {a['label']}, {len(a['files'])} file(s){state}")
        for move in a["moves"]:
            print(f"         {move['state']}: {move['path']}")
    return 0


def _count(text: str) -> int:
    """A whole number from 1 to SQLite's largest (an action's number, a limit)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"must be from 1 to {2 ** 63 - 1}, not {text}")
    return value


def _add_list_command(sub, name: str, dest: str, metavar: str, run, said: str, removing: str) -> None:
    """A setting that is a list: NAME ITEM... adds, --remove ITEM... takes away, NAME alone lists them."""
    p = sub.add_parser(name, help=f"{said} (no {metavar}: list them)")
    p.add_argument(dest, nargs="*", metavar=metavar)
    p.add_argument("--remove", action="store_true", help=removing)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def _add_file_action_commands(sub) -> None:
    """delete, merge, undo, history, empty-trash: the journaled file actions (DESIGN.md's CLI contract)."""
    p = sub.add_parser("delete", help="move photos to simgui's trash (undo brings them back)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_delete)

    p = sub.add_parser("merge", help="keep KEEPER, move the other photos to simgui's trash (or a folder, or make "
                                     "identical copies hard links to KEEPER)")
    p.add_argument("keeper", metavar="KEEPER")
    p.add_argument("paths", nargs="+", metavar="PATH")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--to-folder", metavar="DIR", help="move them to DIR (outside the library), under "
                                                        "DIR/<the root's name>/<their path inside it>")
    way.add_argument("--hard-link", action="store_true", help="identical copies only: each goes to the trash and "
                                                              "a hard link to KEEPER takes its name (one file under "
                                                              "two names: an edit under either changes both)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_merge)

    p = sub.add_parser("undo", help="put back the files of the newest action (or of ACTION_ID)")
    p.add_argument("action_id", nargs="?", type=_count, metavar="ACTION_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_undo)

    p = sub.add_parser("history", help="file actions, newest first, with every file they moved")
    p.add_argument("--limit", type=_count, default=None, help="the newest N only (default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_history)

    _add_list_command(sub, "protect", "paths", "PATH", cmd_protect,
                      "folders whose files are never moved and are kept first in groups", "lift their protection")
    _add_list_command(sub, "exclude", "entries", "ENTRY", cmd_exclude,
                      "leave folders (full paths) or name patterns (*.png, Screenshots, */cache/*) out of the library",
                      "take these back into the library")

    p = sub.add_parser("keep-rules", help="which copy of a group is kept: show the rules, or change them "
                                          "(a K choice and protected folders always come first)")
    p.add_argument("--order", metavar="RULE,RULE...",
                   help=f"the rules, most important first: {', '.join(r.value for r in KeepRule)}")
    p.add_argument("--formats", metavar="FORMAT,FORMAT...",
                   help="the formats rule's order, best first (e.g. RAW,HEIC,JPEG,PNG,WebP)")
    p.add_argument("--folders", nargs="*", metavar="FOLDER", help="the folders rule's folders, best first")
    p.add_argument("--reset", action="store_true", help="back to the default rules before any change given")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_keep_rules)

    p = sub.add_parser("empty-trash", help="send everything in simgui's trash on to the system trash")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_empty_trash)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simgui-cli", description="Find duplicate and similar photos.")
    parser.add_argument("--version", action="version", version=f"simgui {__version__}")
    parser.add_argument("--library", type=Path, default=None,
                        help="library folder (default: $SIMGUI_LIBRARY or the per-user data folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="add folders and bring the library up to date")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.set_defaults(run=cmd_index)

    for name, run, text in (("stats", cmd_stats, "counts"), ("skipped", cmd_skipped, "files skipped, with reasons"),
                            ("groups", cmd_groups, "duplicate and similar groups")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true")
        if name == "groups":
            p.add_argument("--csv", action="store_true", help="one row a file: " + ", ".join(CSV_COLUMNS))
            p.add_argument("--html", type=Path, metavar="FILE",
                           help="a report with every photo's thumbnail, in one file a browser opens offline")
        p.set_defaults(run=run)

    p = sub.add_parser("query", help="photos that look like the given images")
    p.add_argument("images", nargs="+", metavar="IMG")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_query)

    p = sub.add_parser("watch", help="keep the library up to date until Ctrl+C / SIGTERM")
    p.set_defaults(run=cmd_watch)

    p = sub.add_parser("serve", help="the local HTTP API (127.0.0.1 only, with a token) until Ctrl+C / SIGTERM")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free one (default 8765)")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--token", help="shows in `ps` (prefer --token-file); default: $SIMGUI_API_TOKEN, "
                                       "else one kept in the library folder")
    given.add_argument("--token-file", metavar="PATH|-",
                       help="read the token from PATH, or from stdin's first line for '-'")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("map", help="every distinct photo placed in 2-D, look-alikes together (x, y in 0..1)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_map)

    _add_file_action_commands(sub)

    p = sub.add_parser("compare", help="how alike two images are")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p.add_argument("--overlay", metavar="PNG", help="write A with the places it differs from B shaded")
    p.set_defaults(run=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    # file names are bytes: print the ones that are not UTF-8 as they are, as ls does, instead of failing
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        library = Library(args.library or default_library_dir())
    except LibraryError as exc:
        print(f"simgui-cli: {exc}", file=sys.stderr)
        return 1
    try:
        return args.run(library, args)
    except (LibraryError, DecodeError, ModelError, JournalError) as exc:
        print(f"simgui-cli: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader left (`simgui-cli history | head`): the rest of the listing is unread, nothing else is
        # lost; stdout goes to /dev/null so that Python's own flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        library.close()


if __name__ == "__main__":
    sys.exit(main())
