"""experiments.py
~~~~~~~~~~~~~~~~~

Run the ladder of experiments of chapter 6 (FC baseline ... dropout, and the
ensemble of dropout nets), three runs each with the book's hyper-parameters,
and print a table of the book's accuracies next to ours.

    python scripts/experiments.py                      # the whole ladder: days on a CPU
    python scripts/experiments.py --only fc,conv1 --epochs 5
    python scripts/experiments.py --epochs 1 --repeats 1 --train-size 1000

Results accumulate in ./experiments (runs.jsonl, table.md, nets/); an
interrupted sweep resumes where it stopped.  See ``--help``.
"""

import sys

from network3 import cli

if __name__ == "__main__":
    sys.exit(cli.main(["experiments"] + sys.argv[1:]))
