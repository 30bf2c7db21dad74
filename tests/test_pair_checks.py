"""Pair checks in worker processes (matching/pair_checks.py): real processes, real pipes; no model, no Qt."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from conftest import photo
from simgui.core.matching.pair_checks import (CheckTask, UnitTokens, WorkerStopped, measure_agreements,
                                              measured_in_workers)
from simgui.core.media.sketch import make_sketch, read_sketch


def _task(sketch: bytes) -> CheckTask:
    """Two labels whose sign bits are one photo's (random, but alike): their pair asks for the sketches."""
    bits = np.random.default_rng(3).integers(0, 256, (256, 4), dtype=np.uint8)
    return CheckTask([(1, 2)], {1: bits, 2: bits.copy()}, {}, {1: sketch, 2: sketch})


def test_a_worker_measures_what_this_process_would():
    sketch = make_sketch(Image.open(photo("coffee")).convert("RGB"))
    task = _task(sketch)
    here = measure_agreements(task.keys, UnitTokens(task.patches, task.turned, lambda label: read_sketch(sketch)))
    assert list(measured_in_workers(task.keys, lambda keys: task, lambda keys: pytest.fail("measured here"))) \
        == [(task.keys, here)]


def test_a_worker_that_dies_is_an_error_not_a_hang():
    # a damaged sketch: the worker's decode fails, its traceback goes to stderr, and it ends
    task = _task(b"not a JPEG")
    with pytest.raises(WorkerStopped):
        list(measured_in_workers(task.keys, lambda keys: task, lambda keys: pytest.fail("measured here")))


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
        task = CheckTask([(1, 2)], {{1: bits, 2: bits}}, {{}}, {{}})
        print(list(measured_in_workers(task.keys, lambda keys: task, None)))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert log.read_text() == "ran\n"
