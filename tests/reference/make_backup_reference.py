"""Write backup_reference.state: a backup written by the code at commit
d1af79b (before training's settings and state had one home each), for
test_backup.py's test that such a backup still resumes, bit for bit.

Run from the repository root on that commit:
``python tests/reference/make_backup_reference.py``.  The run is
test_backup.py's own (``train("numba", 4, ...)``: a conv layer and dropout,
momentum, halve_on_plateau, augmentation), stopped by Ctrl-C at the end of
epoch 1, so that its backup goes on from epoch 1.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from test_backup import train  # noqa: E402  (tests/ on the path)

if __name__ == "__main__":
    target = os.path.join(HERE, "backup_reference.state")
    if os.path.exists(target):
        os.remove(target)
    net, history = train("numba", 4, stop=1, backup=target)
    assert history.stopped == "interrupted" and os.path.exists(target)
    print("wrote", target)
