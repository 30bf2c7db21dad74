"""simgui keeps numpy's OpenBLAS to one thread: its extra threads spin between our many small products and take
the decoders' core (simgui/__init__.py). A real process, as simgui-cli starts."""
from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = ("import simgui, numpy, threadpoolctl, json; "
         "print(json.dumps([p['num_threads'] for p in threadpoolctl.threadpool_info() if p['internal_api'] == 'openblas']))")


def _openblas_threads(**env: str) -> list[int]:
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | env
    out = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_openblas_runs_one_thread_once_simgui_is_imported():
    assert _openblas_threads() == [1]


def test_a_users_own_openblas_setting_wins():
    assert _openblas_threads(OPENBLAS_NUM_THREADS="2") == [2]
