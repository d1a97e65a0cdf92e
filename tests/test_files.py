"""files.py: an atomic write leaves the old file or the new one, never a
mixture, even when its process is killed in the middle (a real SIGKILL at
varied moments); appended lines stay whole lines."""

import os
import signal
import subprocess
import sys
import time

import pytest

from network3 import files

WRITER = """
import sys
from network3 import files
path, n = sys.argv[1], 0
print("ready", flush=True)
while True:
    n += 1
    with files.atomic_write(path) as f:
        for _ in range(200):
            f.write(str(n).encode() * 500)
"""


def test_an_exception_leaves_the_old_file(tmp_path):
    path = tmp_path / "file"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_write(path) as f:
            f.write(b"new, half")
            raise RuntimeError("crash")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["file"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_writer_leaves_a_whole_file(tmp_path):
    path = tmp_path / "file"
    for delay in (0.05, 0.13, 0.31):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                  stdout=subprocess.PIPE)
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        data = path.read_bytes() if path.exists() else b""
        if data:      # one whole write of one number: 200 * 500 copies of it
            assert len(data) % (200 * 500) == 0, delay
            n = data[:len(data) // (200 * 500)]
            assert n.isdigit() and data == n * (200 * 500), delay


def test_appended_lines_stay_whole(tmp_path):
    path = tmp_path / "runs.jsonl"
    files.append_line(path, b"one")
    with open(path, "ab") as f:
        f.write(b"a line cut sh")            # a crash in the middle of a line
    files.append_line(path, b"two")
    assert path.read_bytes().split(b"\n") == [b"one", b"a line cut sh", b"two", b""]
