"""Entry point of the frozen command line (build.spec)."""
import multiprocessing
import sys

from simgui.cli import main

# a pair-check worker (core/matching/pair_checks.py) starts as this program: it must run the worker, not the app
multiprocessing.freeze_support()
sys.exit(main())
