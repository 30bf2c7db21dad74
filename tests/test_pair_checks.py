"""Pair checks in worker processes (matching/pair_checks.py): real processes, real pipes; no model, no Qt."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from conftest import photo
from simgui.core.matching.pair_checks import (TASK_PAIRS, CheckTask, UnitTokens, WorkerStopped, measure_agreements,
                                              measured_in_workers)
from simgui.core.media.sketch import make_sketch, read_sketch
from simgui.core.storage.store import BackdropView


def _task(sketch: bytes) -> CheckTask:
    """Two labels whose sign bits are one photo's (random, but alike): their pair asks for the sketches. The
    second has a backdrop view too, which travels with the task."""
    bits = np.random.default_rng(3).integers(0, 256, (256, 4), dtype=np.uint8)
    return CheckTask([(1, 2)], {1: bits, 2: bits.copy()}, {}, {2: BackdropView(bits.copy(), sketch, (0.25, 0.25, 0.75, 0.75))}, {1: sketch, 2: sketch})


def test_a_worker_measures_what_this_process_would():
    sketch = make_sketch(Image.open(photo("coffee")).convert("RGB"))
    task = _task(sketch)
    here = measure_agreements(task.keys, UnitTokens(task.patches, task.turned, task.backdrops,
                                                               lambda label: read_sketch(sketch)))
    assert list(measured_in_workers(task.keys, lambda keys: task, lambda keys: pytest.fail("measured here"))) \
        == [(task.keys, here)]


def test_a_workers_error_is_raised_here_as_measuring_here_would_raise_it():
    task = _task(b"not a JPEG")  # a damaged sketch in the library
    with pytest.raises(UnidentifiedImageError) as here:
        measure_agreements(task.keys, UnitTokens(task.patches, task.turned, task.backdrops,
                                                           lambda label: read_sketch(b"not a JPEG")))
    with pytest.raises(UnidentifiedImageError) as there:
        list(measured_in_workers(task.keys, lambda keys: task, lambda keys: pytest.fail("measured here")))
    assert type(there.value) is type(here.value) and "in a pair-check worker" in "".join(there.value.__notes__)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="finds its workers in /proc")
def test_a_worker_that_dies_is_an_error_not_a_hang():
    sketch = make_sketch(Image.open(photo("coffee")).convert("RGB"))
    task = _task(sketch)
    results = measured_in_workers([(1, 2)] * (40 * TASK_PAIRS), lambda keys: task,
                                  lambda keys: pytest.fail("measured here"))
    next(results)
    for worker in _my_workers():
        os.kill(worker, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    with pytest.raises(WorkerStopped, match="exit status -9"):
        list(results)


def _my_workers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):  # not a process, or gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"pair_checks" in command:
            found.append(int(entry.name))
    assert found
    return found


def test_workers_never_run_the_script_that_started_them_again(tmp_path):
    """multiprocessing's spawned children run the starting script again up to where it starts them: a script
    that moved a file before grouping would move it twice."""
    log = tmp_path / "runs.txt"
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from simgui.core.matching.pair_checks import CheckTask, measured_in_workers
        with open({str(log)!r}, "a") as out:
            out.write("ran\\n")
        bits = np.zeros((256, 4), np.uint8)
        task = CheckTask([(1, 2)], {{1: bits, 2: bits}}, {{}}, {{}}, {{}})
        print(list(measured_in_workers(task.keys, lambda keys: task, None)))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "ran\n"
