"""files.py
~~~~~~~~~~~

Writing files so that a crash, a full disk or a Ctrl-C never leaves half of
one behind.

Model files, checkpoints and data files are written by :func:`atomic_write`:
under a temporary name in the same folder, flushed to the disk, then renamed
over the old file in one step, so a reader sees the old file or the new one,
never a mixture.  Result logs that grow a line at a time (the experiment
runner's ``runs.jsonl``) use :func:`append_line`.

"""

#### Libraries
# Standard library
import contextlib
import os


@contextlib.contextmanager
def atomic_write(filename):
    """Open ``filename`` for writing in binary mode, atomically.

    Use as ``with atomic_write(name) as f: f.write(...)``.  What is written
    goes to ``<name>.partial-<pid>``; when the block ends normally the file
    is flushed, synced to the disk and renamed to ``name``.  If the block
    raises (or is interrupted), the partial file is removed and ``name`` is
    left as it was.
    """
    filename = os.fspath(filename)
    partial = "{0}.partial-{1}".format(filename, os.getpid())
    try:
        with open(partial, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, filename)
        _sync_folder(filename)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def append_line(filename, line):
    """Append ``line`` (bytes, without its newline) to ``filename`` as a line
    of its own, and sync it to the disk.

    If the file ends in the middle of a line (a crash cut an earlier append
    short), a newline goes first, so the broken line stays on its own and
    readers can skip it.
    """
    with open(filename, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(line + b"\n")
        f.flush()
        os.fsync(f.fileno())


def _sync_folder(filename):
    """Sync the folder holding ``filename``, so its new name survives a crash."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(filename)), os.O_RDONLY)
    except OSError:          # not every system lets a folder be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
