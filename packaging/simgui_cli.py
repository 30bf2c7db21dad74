"""Entry point of the frozen command line (build.spec)."""
import sys

from simgui.cli import main
from simgui.core.matching.pair_checks import WORKER_ARGUMENT, run_worker

if sys.argv[1:] == [WORKER_ARGUMENT]:  # a pair-check worker (core/matching/pair_checks.py) starts as this program
    run_worker()
    sys.exit(0)
sys.exit(main())
