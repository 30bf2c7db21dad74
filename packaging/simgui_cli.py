"""Entry point of the frozen command line (build.spec)."""
import sys

from simgui.core.matching.pair_checks import WORKER_ARGUMENT, run_worker

if sys.argv[1:] == [WORKER_ARGUMENT]:  # a pair-check worker (core/matching/pair_checks.py) starts as this program
    run_worker()
    sys.exit(0)

from simgui.cli import main  # noqa: E402 (not in a worker: the app's imports cost it 0.2 s)

sys.exit(main())
