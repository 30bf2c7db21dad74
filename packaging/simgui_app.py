"""Entry point of the frozen desktop app (build.spec)."""
import sys

from simgui.__main__ import main

sys.exit(main())
