"""Entry point of the frozen desktop app (build.spec)."""
import sys

from simgui.core.matching.pair_checks import run_worker_if_asked

run_worker_if_asked(sys.argv[1:])  # a pair-check worker starts as this program

from simgui.__main__ import main  # noqa: E402 (not in a worker: the app's imports cost it 0.2 s)

sys.exit(main())
