"""Entry point of the frozen command line (build.spec)."""
import sys

from simgui.cli import main

sys.exit(main())
