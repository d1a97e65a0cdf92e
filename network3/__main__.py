"""Run the network3 command line: ``python -m network3 --help``."""

from network3.cli import run

run()
