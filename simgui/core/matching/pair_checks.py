"""Measuring candidate pairs' patch agreements (verify.py): each photo's tokens unpacked once for all its pairs,
here or, for many pairs, in worker processes.

The check is Python and numpy holding the GIL (two threads measured it no faster than one), and indexing waits
on it once every photo is embedded: the 3,251 pairs of 300 camera photos took 5 s of one core. Workers take a
core each; they read nothing themselves: this process hands them each pair's tokens and sketches.

A worker is `python -P -m simgui.core.matching.pair_checks` (the frozen programs: their own executable with
WORKER_ARGUMENT), fed through its pipes. Not multiprocessing: its spawned children run the main script of the
process that started them again up to where it starts them, and a script's file actions must never run twice."""
from __future__ import annotations

import contextlib
import functools
import os
import pickle
import struct
import subprocess
import sys
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator

import numpy as np

from simgui.core.matching.moments import Sketch
from simgui.core.matching.verify import Seen, best_agreement
from simgui.core.media.sketch import read_sketch
from simgui.core.storage.store import BackdropView
from simgui.core.storage.tokens import as_unit_tokens

UNPACKED_TOKENS = 4096  # at most 128 MB of unpacked tokens at once
SKETCHES_KEPT = 512  # at most ~100 MB of sketches and what the pixel check worked out of them
PARALLEL_FROM = 512  # pairs; fewer are measured here (a worker takes ~0.4 s of a core to start)
TASK_PAIRS = 128  # pairs handed to a worker at once: small, so that the last ones are shared out evenly
Pair = tuple[int, int]
WORKER_ARGUMENT = "--pair-check-worker"
MAX_WORKERS = 8


class UnitTokens:
    """Unit tokens of labels, unpacked from their stored sign bits once for all their pairs (a bounded
    cache: 32 KB each), and those of their turned copies (orientation.py) and backdrop views (framing.py), where
    any were kept."""

    def __init__(self, patches: dict[int, np.ndarray], turned: dict[int, list[np.ndarray]],
                 backdrops: dict[int, BackdropView], sketch_of: Callable[[int], np.ndarray | None] | None = None):
        """backdrops: label -> its backdrop view as stored; sketch_of(label): the content's sketch (media/sketch.py),
        for the pairs whose patches line up."""
        self.patches = patches
        self.turned_patches = turned
        self.backdrops = backdrops
        self.sketch_of = sketch_of
        self._unpacked: dict[int, np.ndarray] = {}
        self._sketches: dict[tuple[int, bool], Sketch | None] = {}  # (label, backdrop view?) -> read (or found
        # missing) once for all their pairs

    def sketches(self, a: int, b: int, a_backdrop: bool, b_backdrop: bool) -> tuple[Sketch, Sketch] | None:
        if self.sketch_of is None:
            return None
        first, second = self._sketch(a, a_backdrop), self._sketch(b, b_backdrop)
        return None if first is None or second is None else (first, second)

    def _sketch(self, label: int, backdrop: bool) -> Sketch | None:
        if (label, backdrop) not in self._sketches:
            if len(self._sketches) >= SKETCHES_KEPT:
                self._sketches.clear()
            pixels = read_sketch(self.backdrops[label].sketch) if backdrop else self.sketch_of(label)
            self._sketches[label, backdrop] = None if pixels is None else Sketch(pixels)
        return self._sketches[label, backdrop]

    def seen(self, label: int) -> Seen:
        return seen_as_stored(self[label], self.turned_patches.get(label, ()), self.backdrops.get(label))

    def __getitem__(self, label: int) -> np.ndarray:
        tokens = self._unpacked.get(label)
        if tokens is None:
            if len(self._unpacked) >= UNPACKED_TOKENS:
                self._unpacked.clear()
            tokens = self._unpacked[label] = as_unit_tokens(self.patches[label])
        return tokens


def seen_as_stored(tokens: np.ndarray, turned: Iterable[np.ndarray], backdrop: BackdropView | None) -> Seen:
    """A stored content's unit tokens in every framing kept: `tokens` unpacked already, the others as stored."""
    if backdrop is None:
        return Seen(tokens, [as_unit_tokens(p) for p in turned])
    return Seen(tokens, [as_unit_tokens(p) for p in turned], as_unit_tokens(backdrop.bits), backdrop.subject)


def measure_agreements(keys: list[tuple[int, int]], units: UnitTokens) -> list[float]:
    """Patch agreement of each (label a, label b) pair, in their best framings or either one turned."""
    return [best_agreement(units.seen(a), units.seen(b), functools.partial(units.sketches, a, b)) for a, b in keys]


@dataclass
class CheckTask:
    """Some pairs and what measuring them needs, read from the library by the process that holds it."""
    keys: list[Pair]
    patches: dict[int, np.ndarray]  # label -> its stored sign bits
    turned: dict[int, list[np.ndarray]]  # label -> its turned copies' sign bits, where kept
    backdrops: dict[int, BackdropView]  # label -> its backdrop view, where it has one
    sketches: dict[int, bytes]  # label -> its stored sketch, for every label of the pairs


def _measure(task: CheckTask) -> list[float]:
    return measure_agreements(task.keys, UnitTokens(task.patches, task.turned, task.backdrops,
                                                    lambda label: read_sketch(task.sketches[label])))


def worker_count() -> int:
    """One a core this process may use, MAX_WORKERS at most (each holds ~100 MB: numpy, SciPy, Pillow)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, MAX_WORKERS)


def measured_in_workers(keys: list[Pair], task_of: Callable[[list[Pair]], CheckTask | None],
                        measure_here: Callable[[list[Pair]], list[float]], cancel=None
                        ) -> Iterator[tuple[list[Pair], list[float]]]:
    """(pairs, their agreements) as they are measured, TASK_PAIRS at a time, in worker processes: task_of(pairs)
    reads their inputs, or gives None where some can only be measured here (measure_here: a sketch not stored
    yet, which the library makes from a file when a pair asks). Once `cancel` is set no more pairs are handed out;
    those being measured are waited for and yielded."""
    pending: set[Future] = set()
    keys_of: dict[Future, list[Pair]] = {}
    with _Workers(worker_count()) as workers:
        for start in range(0, len(keys), TASK_PAIRS):
            if cancel is not None and cancel.is_set():
                break
            chunk = keys[start:start + TASK_PAIRS]
            task = task_of(chunk)
            if task is None:
                yield chunk, measure_here(chunk)
                continue
            future = workers.submit(task)
            pending.add(future)
            keys_of[future] = chunk
            while len(pending) >= 2 * workers.count:  # inputs read ahead for a few tasks, not for all
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from ((keys_of.pop(f), f.result()) for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from ((keys_of.pop(f), f.result()) for f in done)


class WorkerStopped(RuntimeError):
    """A worker process ended before answering (killed, out of memory): its error went to stderr."""


class _Workers:
    """`count` worker processes, each driven by a thread of this one that waits on its pipes (GIL released)."""

    def __init__(self, count: int):
        self.count = count
        self._threads = ThreadPoolExecutor(count, thread_name_prefix="pair-check")
        self._own = threading.local()
        self._started: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def submit(self, task: CheckTask) -> Future:
        return self._threads.submit(self._run, task)

    def _run(self, task: CheckTask) -> list[float]:
        worker = getattr(self._own, "worker", None)
        if worker is None:
            worker = self._own.worker = _start_worker()
            with self._lock:
                self._started.append(worker)
        try:
            _send(worker.stdin, task)
            failed, answer = _receive(worker.stdout)
        except (EOFError, OSError) as exc:  # BrokenPipeError: it had already ended
            status = _exit_status(worker)
            raise WorkerStopped(f"a pair-check worker stopped (exit status {status}): {exc}") from exc
        if failed:  # the worker's own exception, as measuring here would have raised it
            raise answer
        return answer

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *_) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        for worker in self._started:
            # end of tasks: the worker returns. One that died mid-task was reported (WorkerStopped), and closing
            # its pipe with a task half written must not hide that error behind a BrokenPipeError
            with contextlib.suppress(BrokenPipeError):
                worker.stdin.close()
            worker.wait()
            worker.stdout.close()


def _start_worker() -> subprocess.Popen:
    # Own process group: the terminal's Ctrl-C is this process's to turn into a cancel (cli.py), and the workers
    # measuring then must finish their tasks, not die. No stderr (a windowed app): theirs goes nowhere
    return subprocess.Popen(_worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL if sys.stderr is None else None, env=_worker_environment(),
                            **({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if os.name == "nt"
                               else {"start_new_session": True}))


def _exit_status(worker: subprocess.Popen) -> int | None:
    try:
        return worker.wait(timeout=5)  # its pipe closes a moment before it is reaped
    except subprocess.TimeoutExpired:
        return None


def _worker_command() -> list[str]:
    if getattr(sys, "frozen", False):  # PyInstaller: no `python -m`, the program itself (packaging/)
        return [sys.executable, WORKER_ARGUMENT]
    # -P: not the working folder first on the path (a folder holding another checkout, or a random.py)
    return [sys.executable, "-P", "-m", __name__]


def _worker_environment() -> dict[str, str]:
    """This one, with this process's module path: the worker imports simgui (and everything) from where this
    process did, a checkout run from elsewhere included."""
    return os.environ | {"PYTHONPATH": os.pathsep.join(entry for entry in sys.path if entry)}


def _send(pipe: BinaryIO, value) -> None:
    data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    pipe.write(struct.pack("<Q", len(data)) + data)
    pipe.flush()


def _receive(pipe: BinaryIO):
    """The next value; EOFError when the other end closed."""
    head = pipe.read(8)
    if len(head) < 8:
        raise EOFError("pipe closed")
    size, = struct.unpack("<Q", head)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("pipe closed mid-message")
    return pickle.loads(data)  # from our own process: pipes no one else holds


def serve(tasks: BinaryIO, answers: BinaryIO) -> None:
    """A worker's life: measure each task and answer (failed, agreements or the exception), until the tasks'
    pipe closes."""
    while True:
        try:
            task = _receive(tasks)
        except EOFError:
            return
        try:
            answer = (False, _measure(task))
        except Exception as exc:  # sent back whole: the caller raises it, and this worker goes on
            exc.add_note("in a pair-check worker:\n" + "".join(traceback.format_exception(exc)))
            answer = (True, exc)
        try:
            _send(answers, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an exception that cannot travel
            _send(answers, (True, RuntimeError(f"in a pair-check worker: {answer[1]!r} ({exc})")))


def run_worker_if_asked(argv: list[str]) -> None:
    """For a frozen program's entry point (packaging/), first thing: started with WORKER_ARGUMENT, it is a
    worker (_worker_command), which runs and exits without importing the app."""
    if argv == [WORKER_ARGUMENT]:
        run_worker()
        sys.exit(0)


def run_worker() -> None:
    """A worker started by _start_worker: tasks on stdin, answers on stdout."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # a stray print (a library's) must not break an answer: the worker's stdout is its stderr, or nothing
    sink = sys.stderr.fileno() if sys.stderr is not None else os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, sys.stdout.fileno())
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    run_worker()
