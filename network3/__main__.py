"""Run the network3 command line: ``python -m network3 --help``."""

import sys

from network3.cli import main

sys.exit(main())
