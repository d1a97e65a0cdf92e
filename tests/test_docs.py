"""The site (docs/): Sphinx builds it with warnings as errors, executing its
notebooks; and every code block of its pages, of README and of the
docstrings the API reference shows runs.

Python blocks (``>>>``) run as doctests, a page's blocks in order in one
namespace, each page in a process of its own in a fresh folder.  Shell
blocks run line by line: ``network3`` commands through ``cli.main`` (``run``
in a subprocess).  So that the book's 60-epoch runs take seconds, the runs
are made small, and only that: ``load_data``/``load_data_shared`` give the
first images of each set (RUN_SIZES), ``Network.SGD`` stops after one epoch,
and the commands get ``--epochs 1`` and small ``--train-size`` and
``--eval-size``.  Printed numbers then differ from the book's, so expected
output is compared with every number masked (the lines themselves must be
the book's); a call whose output the page does not show may print anything.
Lines that cannot run here are in NOT_RUN, each with where CI covers it.
"""

import doctest
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(name for name in os.listdir(DOCS) if name.endswith(".md"))
NOTEBOOKS = ["notebooks/chapter6", "notebooks/theano"]

#: Images per set the pages' runs get: training (enough for SGD's line at
#: mini-batch 1000), validation, test.
RUN_SIZES = (10010, 500, 500)
#: What the commands get appended, by command, for small runs.
SMALL = {"train": ["--epochs", "1", "--train-size", "200"],
         "experiments": ["--epochs", "1", "--train-size", "20", "--eval-size", "20"],
         "sweep": ["--epochs", "1", "--train-size", "20", "--eval-size", "20"]}
#: Shell lines (as regular expressions) that do not run here, and why that
#: is enough.
NOT_RUN = {
    r"python3 -m venv .*": "README's set-up commands: .ci/run runs the test one; both are "
                           "tried in a fresh virtual environment before every stop",
    r"pip install -e '\.\[\w+\]'": "installing an extra: .ci/run installs '.[test]', "
                                   "which holds docs, cluster and theano's packages",
    r"dask (scheduler|worker)( .*)?": "a cluster's machines: tests/test_runs_on_dask.py starts "
                                   "a scheduler and worker processes and sends runs to them",
    r".*--scheduler tcp://10\.0\.0\.5.*": "a remote cluster: tests/test_runs_on_dask.py",
    r"(THEANO_FLAGS=\S+ )?network3 run test\.py": "a Theano-era script of yours: "
        "tests/test_compat_importer.py runs the forks' test.py (tests/theano_code) this way",
    r"THEANO_FLAGS=\S+ python test\.py": "the book's script on a GPU: benchmarks/gpu.sh, on "
                                        "a GPU machine; tests/test_config.py reads the flags",
    r"tensorboard --logdir \S+": "TensorBoard's own server: tests/test_tensorboard.py "
                                  "starts it and reads the scalars it serves",
    r"network3 serve \S+": "a server that runs until Ctrl-C: tests/test_cli.py starts it, asks "
                          "it and stops it; tests/test_serve_page.py drives its page in "
                          "Chromium",
    r"pip install -e '\.\[bench\]' && python benchmarks/.*":
        "a benchmark (minutes to hours, by hand, with PyTorch): never a timed test",
}


#### Finding the code blocks
def code_blocks(path):
    """The fenced blocks of the Markdown file ``path``: (language, text,
    line) for each; MyST directives (``{include}``...) left out."""
    blocks, language, lines, start = [], None, [], 0
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        fence = re.match(r"^(```+)\s*(\S*)", line)
        if fence and language is None:
            language, lines, start = fence.group(2) or "text", [], number
        elif fence and language is not None:
            if not language.startswith("{"):
                blocks.append((language, "".join(lines), start))
            language = None
        elif language is not None:
            lines.append(line)
    return blocks


def shell_commands(text):
    """The commands of a shell block: continuation lines joined, comments
    dropped."""
    text = text.replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            commands.append(re.sub(r"\s+", " ", line))
    return commands


def test_every_block_is_python_or_shell_or_shown_text():
    """A block in another language would run nowhere: each is one of these."""
    used = set()
    for page in PAGES + ["../README.md"]:
        for language, text, line in code_blocks(os.path.join(DOCS, page)):
            assert language in ("python", "bash", "text"), (page, line, language)
            if language == "python":
                assert text.lstrip().startswith(">>>"), (page, line, "a doctest")
            for command in shell_commands(text) if language == "bash" else []:
                skipped = [p for p in NOT_RUN if re.fullmatch(p, command)]
                used.update(skipped)
                assert skipped or command.startswith(("network3 ", "python -m network3")), (
                    page, line, command)
    assert used == set(NOT_RUN)         # no excuse outlives its line


def test_the_checker_masks_numbers_and_nothing_else():
    check = MaskedNumbers().check_output
    book = "Training mini-batch number 0\n...\nEpoch 0: validation accuracy 97.16%\n...\n"
    assert check(book, "Training mini-batch number 0\nEpoch 3: validation accuracy 12.50%\n"
                       "Finished training network.\n", 0)
    assert check(book, "Training mini-batch number 0\nTraining mini-batch number 1000\n"
                       "Epoch 0: validation accuracy 97.16%\n", 0)
    assert not check(book, "Training mini-batch number 0\nEpoch 0: test accuracy 97.16%\n", 0)
    assert not check("('reached 50%', 1)\n", "(None, 1)\n", 0)
    assert check("('reached 50%', 1)\n", "('reached 90%', 3)\n", 0)
    assert check("", "anything at all\n", 0)          # no output shown
    assert shell_commands("a --x \\\n   --y  # said\n# only a comment\nb\n") == [
        "a --x --y", "b"]


#### The site
def test_the_site_builds_with_every_page_and_notebook(tmp_path):
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         DOCS, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    for page in [p[:-3] for p in PAGES] + NOTEBOOKS:
        assert (out / (page + ".html")).is_file(), page
    # the notebooks ran: their outputs are on the pages
    chapter = (out / "notebooks" / "chapter6.html").read_text()
    assert "Epoch 3: validation accuracy" in chapter and "same predictions: True" in chapter
    theano = (out / "notebooks" / "theano.html").read_text()
    assert "largest difference" in theano and "Epoch 1: mean cost" in theano
    # and the API reference has the public names
    api = (out / "api.html").read_text()
    for name in ("network3.Network", "network3.load_image", "predict_proba",
                 "network3.callbacks.Callback", "network3.updates.adam"):
        assert name in api, name
    # notebooks are stored without outputs
    import nbformat
    for notebook in NOTEBOOKS:
        cells = nbformat.read(os.path.join(DOCS, notebook + ".ipynb"), as_version=4).cells
        assert all(not c.get("outputs") and not c.get("execution_count") for c in cells
                   if c.cell_type == "code"), notebook


#### Running the blocks
@pytest.mark.parametrize("page", PAGES + ["../README.md"])
def test_every_code_block_of_the_page_runs(page, tmp_path):
    result = subprocess.run([sys.executable, __file__, page, str(tmp_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=1500,
                            env=dict(os.environ, PYTHONPATH=ROOT + os.pathsep
                                     + os.path.join(ROOT, "tests")))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]


def test_the_docstrings_examples_run(tmp_path):
    """The examples in the docstrings the API reference shows."""
    result = subprocess.run([sys.executable, __file__, "--docstrings", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]


class MaskedNumbers(doctest.OutputChecker):
    """Output compared line by line with every number masked and the lines'
    indentation ignored: a line ``...`` stands for any number of lines (none
    too), ``...`` within a line for any text.  Where a page shows no output,
    any is accepted."""

    NUMBER = re.compile(r"\d+(\.\d+)?")

    def check_output(self, want, got, optionflags):
        if not want.strip():
            return True
        pattern = ""
        for line in self.NUMBER.sub("#", want).splitlines():
            line = line.strip()
            pattern += (r"(?:.*\n)*?" if line == "..." else
                        ".*?".join(re.escape(part) for part in line.split("...")) + r"\n")
        got = "".join(line.strip() + "\n" for line in self.NUMBER.sub("#", got).splitlines())
        return re.fullmatch(pattern, got) is not None


def make_runs_small():
    """The book's runs, made small (see the module's docstring)."""
    import network3
    from network3 import data, network

    def cut(sets):
        return tuple((x[:n], y[:n]) for (x, y), n in zip(sets, RUN_SIZES))
    load_data = data.load_data

    def small_load_data(filename="../data/mnist.pkl.gz"):
        return cut(load_data(filename))

    def small_load_data_shared(filename="../data/mnist.pkl.gz"):
        return [data.shared(part) for part in small_load_data(filename)]
    for module in (network3, data):
        module.load_data, module.load_data_shared = small_load_data, small_load_data_shared
    sgd = network.Network.SGD

    def one_epoch(self, training_data, epochs, *args, **kwargs):
        return sgd(self, training_data, min(epochs, 1), *args, **kwargs)
    network.Network.SGD = one_epoch
    return load_data


def run_python(text, name, globs, runner):
    test = doctest.DocTestParser().get_doctest(text, globs, name, name, 0)
    runner.run(test, clear_globs=False)
    globs.update(test.globs)            # (a DocTest runs in a copy)


def run_shell(text, name, folder, load_data):
    """Each command of a shell block, made small; NOT_RUN's lines skipped."""
    from network3 import cli
    for command in shell_commands(text):
        if any(re.fullmatch(pattern, command) for pattern in NOT_RUN):
            print("not run here ({0}): {1}".format(name, command))
            continue
        words = shlex.split(command)
        if words[0] == "python" and words[1:3] == ["-m", "network3"]:
            words = ["network3"] + words[3:]
        assert words[0] == "network3", "{0}: cannot run {1!r}".format(name, command)
        args = words[1:]
        name_of = args[0] if args and not args[0].startswith("-") else "train"
        if name_of == "run":
            status = subprocess.run([sys.executable, "-m", "network3"] + args,
                                    timeout=600).returncode
        else:
            if name_of == "expand":
                small = os.path.join(folder, "small.pkl.gz")
                from network3 import data
                data.save_data(small, load_data("../data/mnist.pkl.gz"))
                args += ["--input", small, "--output",
                         os.path.join(folder, "expanded.pkl.gz")]
            if name_of in ("experiments", "sweep"):
                args += ["--output", os.path.join(folder, name_of)]
            status = cli.main(args + SMALL.get(name_of, []))
        assert status == 0, "{0}: {1!r} exited with {2}".format(name, command, status)


def run_page(page, folder):
    """Run every block of ``page`` in ``folder``; the number of failures."""
    os.chdir(folder)
    load_data = make_runs_small()
    # Debian's Fashion-MNIST folder, where pages name it: MNIST's first images
    # written as IDX files (tests/test_data.py's independent writer)
    from test_data import write_idx
    idx = os.path.join(folder, "fashion-mnist")
    os.makedirs(idx)
    (tx, ty), _, (sx, sy) = load_data("../data/mnist.pkl.gz")
    for prefix, images, labels in (("train", tx[:12000], ty[:12000]), ("t10k", sx, sy)):
        write_idx(os.path.join(idx, prefix + "-images-idx3-ubyte.gz"),
                  (images.reshape(-1, 28, 28) * 255).astype("uint8"))
        write_idx(os.path.join(idx, prefix + "-labels-idx1-ubyte.gz"), labels.astype("uint8"))
    runner = doctest.DocTestRunner(checker=MaskedNumbers(), optionflags=doctest.ELLIPSIS)
    globs = {}
    for language, text, line in code_blocks(os.path.join(DOCS, page)):
        text = text.replace("/usr/share/datasets/fashion-mnist", idx)
        name = "{0}, line {1}".format(page, line)
        if language == "python":
            run_python(text, name, globs, runner)
        elif language == "bash":
            run_shell(text, name, folder, load_data)
    return runner.summarize(verbose=False).failed


def run_docstrings(folder):
    """The docstrings' examples, with a small net and data for them to use."""
    os.chdir(folder)
    make_runs_small()
    import importlib
    import network3
    runner = doctest.DocTestRunner(checker=MaskedNumbers(), optionflags=doctest.ELLIPSIS)
    training_data, validation_data, test_data = network3.load_data_shared()
    net = network3.Network([network3.FullyConnectedLayer(784, 30),
                            network3.SoftmaxLayer(30, 10)], 10)
    globs = dict(network3=network3, net=net, training_data=training_data,
                 validation_data=validation_data, test_data=test_data)
    finder = doctest.DocTestFinder(exclude_empty=True)
    for path, _, files in os.walk(os.path.join(ROOT, "network3")):
        for filename in sorted(f for f in files if f.endswith(".py")):
            source = os.path.join(path, filename)
            if ">>>" not in open(source, encoding="utf-8").read():
                continue
            module = os.path.relpath(source, ROOT)[:-3].replace(os.sep, ".")
            module = importlib.import_module(module.replace(".__init__", ""))
            for test in finder.find(module, globs=dict(globs, **vars(module))):
                runner.run(test, clear_globs=False)
    return runner.summarize(verbose=False).failed


if __name__ == "__main__":
    if sys.argv[1] == "--docstrings":
        sys.exit(1 if run_docstrings(sys.argv[2]) else 0)
    sys.exit(1 if run_page(sys.argv[1], sys.argv[2]) else 0)
