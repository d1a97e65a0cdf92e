"""cli.py
~~~~~~~~

The ``network3`` command (also ``python -m network3``)::

    network3 train        train one of the chapter's networks, or layers you describe
    network3 evaluate     measure a saved network on a data set
    network3 predict      say which digit each of your pictures shows
    network3 export       write a saved network as an ONNX file
    network3 serve        a page in the browser: draw a digit, watch the net answer
    network3 expand       make the expanded training set (scripts/expand_mnist.py)
    network3 experiments  run the chapter's ladder of experiments
    network3 sweep        search hyper-parameters: a grid, or random combinations
    network3 run          run a script written for Theano (``import theano`` served)

``train`` is the default: ``network3 --net fc --epochs 5`` trains.  Every
command's argparse parser is here, its training options made from
``network3.options``' registry; so are the exit statuses: 0 on success, 1 on
an error (a message says what went wrong) or failed runs, 2 on bad arguments
(with a usage line), 130 when interrupted by Ctrl-C.

"""

#### Libraries
# Standard library
import argparse
import os
import signal
import sys
import threading
import time

# Third-party libraries
import numpy as np

# network3
from network3 import backends, chapter, data, options, runs, seeding, settings
from network3.callbacks import TensorBoard
from network3.interrupts import Interruption, is_interrupt
from network3.network import Network, load
from network3.runs import ladder, search, study
from network3 import specs
from network3.specs import format_augmentation, parse_layers

_COMMANDS = ("train", "evaluate", "predict", "export", "serve", "expand", "experiments",
             "sweep", "run")

_EXAMPLES = """\
examples:
  network3 --net fc --epochs 5
  network3 --layers conv20,fc100,softmax --activation relu --eta 0.03 --epochs 10
  network3 --data /usr/share/datasets/fashion-mnist --net relu --epochs 10
  network3 --checkpoint best.npz      # then: network3 evaluate best.npz
  network3 --net relu --augment shift=2,rotate=10,elastic=34x4
"""


#### Arguments
def _whole(minimum):
    """An argparse type: a whole number >= ``minimum``."""
    def whole(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                "expected a whole number >= {0}, got {1!r}".format(minimum, text))
        return value
    return whole


def _net_arguments(p, what):
    names = ", ".join("{0} ({1})".format(k, r.description)
                      for k, r in chapter.RECIPES.items())
    p.add_argument("--net", choices=list(chapter.RECIPES), default="relu",
                   metavar="NAME", help="which network: " + names + ". Default: relu. "
                   "The expanded* and dropout nets train on the expanded data "
                   "(--expanded).")
    p.add_argument("--layers", metavar="SPEC", help="describe the layers instead" + what)


def _port(text):
    """An argparse type: a TCP port, 0..65535."""
    port = _whole(0)(text)
    if port > 65535:
        raise argparse.ArgumentTypeError("expected a port, 0..65535, got {0}".format(port))
    return port


def _data_arguments(p, runs_too=False):
    """--data (and, for commands that train runs, --expanded, --train-size,
    --eval-size, --quiet)."""
    p.add_argument("--data", default="../data/mnist.pkl.gz", metavar="PATH",
                   help="a data file in the format of mnist.pkl.gz, or a folder of "
                        "IDX files such as Fashion-MNIST's (default: the bundled "
                        "MNIST); on Dask, each worker reads it from its own disk")
    if runs_too is None:
        return
    p.add_argument("--expanded", default="../data/mnist_expanded.pkl.gz",
                   metavar="FILE", help="the expanded training set, for the nets the "
                   "book trains on it (made from the training data when missing)")
    p.add_argument("--train-size", type=_whole(1), metavar="N",
                   help="use the first N training images only")
    if runs_too:
        p.add_argument("--eval-size", type=_whole(1), metavar="N",
                       help="use the first N validation and test images only")
        p.add_argument("--quiet", dest="verbose", action="store_false",
                       help="do not print SGD's lines")


def _device_arguments(p):
    p.add_argument("--device", choices=["cpu", "gpu", "cuda"],
                   help="where to run (default: THEANO_FLAGS' device, else the "
                        "CPU); a GPU needs a CUDA-enabled JAX")
    p.add_argument("--backend", choices=list(backends.BACKENDS),
                   help="default: numba on the CPU, jax on a GPU")


def _dask_arguments(p):
    p.add_argument("--workers", type=_whole(1), nargs="?", const=os.cpu_count() or 1,
                   metavar="N", help="train N runs at a time on a Dask LocalCluster "
                   "of N single-threaded worker processes (--workers alone: one per "
                   "core, {0} here); needs pip install -e '.[cluster]'".format(
                       os.cpu_count()))
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="send the runs to the Dask cluster whose scheduler is at "
                        "ADDRESS (tcp://HOST:PORT); its workers read --data from "
                        "their own disks")


def _tensorboard_argument(p, where):
    p.add_argument("--tensorboard", metavar="DIR",
                   help="write what training measures each epoch to TensorBoard's "
                        "event files, " + where + " (then: tensorboard --logdir "
                        "DIR); needs pip install -e '.[tensorboard]'")


def _parser():
    parser = argparse.ArgumentParser(
        prog="network3",
        description="Train and use the convolutional networks of chapter 6 of "
                    "Neural Networks and Deep Learning (MNIST and other 28x28 data "
                    "sets).  'train' is the default command.",
        epilog="Run 'network3 COMMAND --help' for a command's options.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(commands)
    _evaluate_parser(commands)
    _experiments_parser(commands)
    _sweep_parser(commands)
    _run_parser(commands)
    parser.commands = commands.choices        # each command's parser, by name
    return parser


def _train_parser(commands):
    train = commands.add_parser(
        "train", help="train one of the chapter's networks (the default)",
        description="Train one of the chapter's networks with the book's "
                    "hyper-parameters and data, unless options say otherwise, "
                    "printing the book's lines.", epilog=specs.HELP + "\n" + _EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _net_arguments(train, " (see below)")
    options.add_arguments(train, options.flags(), {"activation": "sigmoid"})
    monitor = options.OPTIONS["monitor_training"]
    train.add_argument("--monitor-training", type=_whole(1), nargs="?", const=True,
                       default=False, metavar="N", help=monitor.help)
    augment = options.OPTIONS["augment"]
    train.add_argument("--augment", nargs="?", const=chapter.AUGMENTATION,
                       type=augment.argument, metavar="SPEC", help=augment.help +
                       "; --augment alone: " + format_augmentation(chapter.AUGMENTATION)
                       + " (also --net augmented's)")
    train.add_argument("--plot-history", metavar="FILE",
                       help="draw the accuracies and costs per epoch to FILE (PNG)")
    _data_arguments(train)
    train.add_argument("--seed", type=int, help="make the run repeatable")
    _device_arguments(train)
    train.add_argument("--checkpoint", metavar="FILE",
                       help="save the best network so far to FILE after each epoch "
                            "that improves it (survives Ctrl-C and crashes)")
    train.add_argument("--save", metavar="FILE",
                       help="save the trained network to FILE at the end")
    train.add_argument("--backup", metavar="FILE",
                       help="write the whole state of training to FILE after each "
                            "epoch; run the same command again after a Ctrl-C or a "
                            "crash and it goes on from there (removed once training "
                            "ends)")
    _tensorboard_argument(train, "in DIR")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="a progress bar per epoch (default: on a terminal)")


def _evaluate_parser(commands):
    evaluate = commands.add_parser(
        "evaluate", help="measure a saved network on a data set",
        description="Load a network saved with --save/--checkpoint (or "
                    "Network.save) and print its accuracy on a data set.")
    evaluate.add_argument("model", metavar="MODEL", help="a saved network (.npz)")
    _data_arguments(evaluate, runs_too=None)
    evaluate.add_argument("--set", choices=["test", "validation", "training"],
                          default="test", help="which part of the data (default test)")
    evaluate.add_argument("--errors", metavar="PNG",
                          help="also draw the misclassified images to PNG")
    _device_arguments(evaluate)

    predict = commands.add_parser(
        "predict", help="say which digit each of your pictures shows",
        description="Load a saved network and print, for each picture (PNG, JPEG, "
                    "...: a digit dark on light or light on dark, any size), the "
                    "class it predicts and its probability; the picture is "
                    "prepared as MNIST's digits were (network3.load_image).")
    predict.add_argument("model", metavar="MODEL", help="a saved network (.npz)")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="a picture of a digit")
    _device_arguments(predict)

    export = commands.add_parser(
        "export", help="write a saved network as an ONNX file",
        description="Write a saved network as an ONNX model (input 'images', "
                    "float32 (N, 784); output 'probabilities' (N, 10)), check it "
                    "with onnx.checker, run it with onnxruntime on the test images "
                    "and print how well it agrees with network3.  Needs pip install "
                    "-e '.[onnx]'.")
    export.add_argument("model", metavar="MODEL", help="a saved network (.npz)")
    export.add_argument("output", metavar="OUT", help="the ONNX file to write")
    _data_arguments(export, runs_too=None)
    export.add_argument("--no-check", dest="check", action="store_false",
                        help="do not run the file on the test images afterwards")

    serve = commands.add_parser(
        "serve", help="a page in the browser: draw a digit, watch the net answer",
        description="Serve a page where you draw a digit (or upload a picture of "
                    "one) and watch a saved network answer: the image it sees, "
                    "its probabilities, its first layer's feature maps; and the "
                    "JSON API behind it (POST /api/predict, GET /api/model).  "
                    "Ctrl-C stops it.")
    serve.add_argument("model", metavar="MODEL", help="a saved network (.npz)")
    serve.add_argument("--port", type=_port, default=8000,
                       help="the port to listen on (default 8000; 0: any free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1, this machine "
                            "only; another lets anyone who reaches it use the page)")

    expand = commands.add_parser(
        "expand", help="make the expanded training set (250,000 images)",
        description="Add four one-pixel shifts of every training image and shuffle: "
                    "data/mnist_expanded.pkl.gz, as scripts/expand_mnist.py.")
    expand.add_argument("--input", default=os.path.join(data.DATA_DIR, "mnist.pkl.gz"),
                        metavar="FILE")
    expand.add_argument("--output", metavar="FILE",
                        default=os.path.join(data.DATA_DIR, "mnist_expanded.pkl.gz"))
    expand.add_argument("--seed", type=int, help="seed of the shuffle")
    expand.add_argument("--force", action="store_true",
                        help="rebuild the file even if it exists")


def _experiments_parser(commands):
    p = commands.add_parser(
        "experiments", help="run the chapter's ladder of experiments",
        description="Run the ladder of experiments of chapter 6, with the book's "
                    "hyper-parameters unless told otherwise.  Each finished run is "
                    "appended to OUTPUT/runs.jsonl; running again skips the runs "
                    "already there, so an interrupted sweep resumes.",
        epilog="experiments: " + ", ".join(ladder.NAMES))
    p.add_argument("--only", metavar="NAMES",
                   help="comma-separated experiments to run (default: all)")
    p.add_argument("--repeats", type=_whole(1), default=3,
                   help="runs of each experiment (default: 3, as the book; "
                        "the dropout net at least 5 with the ensemble, its voters)")
    p.add_argument("--output", default="experiments", metavar="DIR",
                   help="where runs.jsonl, table.md and the trained nets go "
                        "(default: ./experiments)")
    options.add_arguments(p, ["epochs", "mini_batch_size"])
    _data_arguments(p, runs_too=True)
    _device_arguments(p)
    p.add_argument("--seed", type=int, default=0,
                   help="run k of an experiment uses seed SEED+k (default 0)")
    _tensorboard_argument(p, "each run's in a folder of its own under DIR")
    _dask_arguments(p)


def _sweep_parser(commands):
    p = commands.add_parser(
        "sweep", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="search hyper-parameters: train a grid (or random combinations) of "
             "values, here or on Dask",
        description="Train one of the chapter's networks (or --layers) for every "
                    "combination of the values --vary lists (or --random K of "
                    "them), --repeats times each, and rank the combinations by "
                    "validation accuracy.  Finished runs are appended to "
                    "OUTPUT/runs.jsonl; running again skips them.",
        epilog="options to --vary: " + "; ".join(
            "{0} ({1})".format(n, o.expected) for n, o in options.swept().items()) +
        "\n\nexamples:\n"
        "  network3 sweep --net relu --vary eta=0.01,0.03,0.1 --vary lmbda=0,0.1,1 "
        "--epochs 10\n"
        "  network3 sweep --net relu --vary eta=0.003:0.3 --vary momentum=0:0.9 "
        "--random 20 --workers\n"
        "  network3 sweep --net fc --vary eta=0.001:100 --vary lmbda=0.01:10 "
        "--search tpe --trials 30 --prune median --tensorboard runs\n"
        "  network3 sweep --layers conv20,fc100,softmax --activation relu "
        "--vary pool_mode=max,l2,average_exc_pad --repeats 3")
    p.add_argument("--vary", action="append", required=True, metavar="NAME=VALUES",
                   help="an option and its values: NAME=V1,V2,... (or NAME=LOW:HIGH "
                        "with --random); repeat --vary for more options")
    p.add_argument("--search", choices=["grid", "random", "tpe"],
                   help="grid: every combination (the default); random: --trials K "
                        "combinations drawn at random (seeded by --seed); tpe: an "
                        "Optuna study of --trials K trials, each chosen from those "
                        "before it (OUTPUT/study.journal: run again with a larger K "
                        "to go on); needs pip install -e '.[optuna]'")
    p.add_argument("--trials", type=_whole(1), metavar="K",
                   help="how many combinations --search random or tpe trains")
    p.add_argument("--prune", choices=study.PRUNERS,
                   help="with --search tpe: stop a trial whose validation accuracy "
                        "falls behind the others' at the same epoch (the median "
                        "of theirs from the second epoch on, or Hyperband)")
    p.add_argument("--random", type=_whole(1), metavar="K",
                   help="train K combinations drawn at random (seeded by --seed) "
                        "instead of every one: --search random --trials K")
    _net_arguments(p, " (see 'network3 train --help')")
    p.add_argument("--repeats", type=_whole(1), default=1,
                   help="runs of each combination, run k with seed SEED+k (default 1)")
    p.add_argument("--seed", type=int, default=0)
    options.add_arguments(p, options.flags(), {"activation": "sigmoid"})
    _data_arguments(p, runs_too=True)
    _device_arguments(p)
    p.add_argument("--output", default="sweep", metavar="DIR",
                   help="where runs.jsonl, table.md, sweep.png and the nets go "
                        "(default: ./sweep)")
    _tensorboard_argument(p, "each run's in a folder of its own under DIR")
    _dask_arguments(p)


def _run_parser(commands):
    # (for --help and usage: main hands `run` its arguments untouched, as
    # python hands a script its own)
    p = commands.add_parser(
        "run", help="run a Python script written for Theano, `import theano` served "
                    "by PyTensor and network3",
        usage="network3 run SCRIPT [ARGS ...]  |  network3 run -c CODE [ARGS ...]",
        description="Run SCRIPT (or CODE) as python would, with `import theano`\n"
                    "served by network3's compatibility layer (network3.compat.theano):\n"
                    "Theano-era code, such as a Python 3 fork of the chapter's\n"
                    "network3.py and its test.py, runs unchanged.  A network3.py in the\n"
                    "script's folder is what the script imports as network3.\n"
                    "THEANO_FLAGS are read as Theano read them (docs/theano.md).",
        epilog="example:\n  THEANO_FLAGS=floatX=float32 network3 run test.py",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("script", metavar="SCRIPT", help="the Python file to run")
    p.add_argument("args", nargs="*", metavar="ARGS", help="its arguments (sys.argv[1:])")
    p.add_argument("-c", metavar="CODE", help="run CODE instead of a file")


#### Running a command
def run():
    """The ``network3`` program: run :func:`main` and exit with its status.

    Once the status is known, a further Ctrl-C (an impatient second press)
    cannot change it: SIGINT is ignored while Python shuts down.
    """
    status = main()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)


def parse_arguments(argv):
    """The arguments of a command line (``["sweep", "--vary", ...]``; no
    command is ``train``), as argparse's namespace.  A sweep's runs are
    planned (``args.todo``), every value and network checked.  Bad
    arguments print a usage line and raise SystemExit(2)."""
    argv = list(argv)
    if not argv or argv[0] not in _COMMANDS + ("-h", "--help"):
        argv.insert(0, "train")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "sweep":
        try:
            args.todo = search.plan(args)
        except ValueError as error:
            parser.commands["sweep"].error(str(error))
    return args


def main(argv=None):
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        return _run(argv[1:])
    try:
        args = parse_arguments(argv)
    except SystemExit as exit:        # --help (0), bad arguments (2, with usage)
        return exit.code
    command = {"train": _train, "evaluate": _evaluate, "predict": _predict,
               "export": _export, "serve": _serve, "expand": _expand,
               "experiments": _experiments, "sweep": _sweep}[args.command]
    try:
        return command(args)
    except (OSError, ValueError, TypeError, RuntimeError, SystemError) as error:
        if not is_interrupt(error):
            if isinstance(error, SystemError):
                raise
            print("network3: error: {0}".format(error), file=sys.stderr)
            return 1
        return _interrupted(args)
    except (KeyboardInterrupt, runs.Interrupted):
        return _interrupted(args)


def _interrupted(args):
    """Say that Ctrl-C stopped the command (and, for a sweep, where its
    finished runs are); return 130."""
    if args.command in ("experiments", "sweep"):
        print("network3 {0}: interrupted; finished runs are in {1}; run again to "
              "resume".format(args.command, os.path.join(args.output, "runs.jsonl")),
              file=sys.stderr)
    else:
        print("network3: interrupted", file=sys.stderr)
    return 130


def _failed_runs(command, failed):
    """The exit status of a sweep with ``failed`` runs (saying so)."""
    if failed:
        print("network3 {0}: {1} run{2} failed (see above); run again to retry "
              "{3}".format(command, failed, "" if failed == 1 else "s",
                           "it" if failed == 1 else "them"), file=sys.stderr)
        return 1
    return 0


def _run(argv):
    """``network3 run SCRIPT [ARGS...]`` or ``network3 run -c CODE [ARGS...]``:
    the script's own exceptions and exit status are its own, as under
    python."""
    from network3.compat import importer
    parser = _parser().commands["run"]
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help() if argv else parser.print_usage(sys.stderr)
        return 0 if argv else 2
    if argv[0] == "-c":
        if len(argv) < 2:
            parser.print_usage(sys.stderr)
            print("network3 run: error: argument -c: expected CODE", file=sys.stderr)
            return 2
        importer.run_code(argv[1], argv[2:])
        return 0
    if not os.path.isfile(argv[0]):
        print("network3 run: can't open file {0!r}: no such file".format(argv[0]),
              file=sys.stderr)
        return 2
    importer.run_script(argv[0], argv[1:])
    return 0


def _experiments(args):
    return _failed_runs("experiments", ladder.run(args))


def _sweep(args):
    return _failed_runs("sweep", search.run(args, todo=args.todo))


def _train(args):
    recipe = chapter.RECIPES[args.net]
    # the options as the command line gave them, the recipe's for the rest
    values = {name: getattr(args, name) for name in options.OPTIONS if hasattr(args, name)}
    for name in ("epochs", "eta", "lmbda"):
        if values[name] is None:
            values[name] = getattr(recipe, name)
    if args.seed is not None:
        seeding.seed(args.seed)
    training_data, validation_data, test_data = data.load_data(args.data)
    if args.train_size is not None:
        training_data = tuple(part[:args.train_size] for part in training_data)
    side = int(round(training_data[0].shape[1] ** 0.5))
    mbs = args.mini_batch_size
    if args.layers:
        layers = parse_layers(args.layers, mbs, args.activation, image_side=side,
                              init=args.init, pool_mode=args.pool_mode)
        description = "layers " + args.layers
    else:
        layers = chapter.build_layers(args.net, mbs, args.init, args.pool_mode)
        description = recipe.description
        if recipe.expanded:       # the book trains it on the expanded set
            training_data = runs.expanded(runs.DataSpec(
                args.data, args.train_size, expanded=True,
                expanded_path=args.expanded), training_data, print)
    training_data, validation_data, test_data = (
        data.shared(part) for part in (training_data, validation_data, test_data))
    net = Network(layers, mbs, device=args.device, backend=args.backend)
    print("network3: {0}; {1} epochs, mini-batch {2}, eta={3}, lmbda={4}".format(
        description, values["epochs"], mbs, values["eta"], values["lmbda"]))
    values["augment"] = args.augment or (None if args.layers else recipe.augment)
    if values["augment"] is not None:
        print("network3: each epoch's training images transformed afresh: " +
              format_augmentation(values["augment"]))
    arguments = settings.from_options(
        values, checkpoint=args.checkpoint, progress=args.progress, backup=args.backup,
        callbacks=[TensorBoard(args.tensorboard)] if args.tensorboard else [])
    start = time.perf_counter()
    with Interruption() as interruption:
        history = net.SGD(training_data, validation_data=validation_data,
                          test_data=test_data, **arguments)
        if args.save and history.epochs:
            with interruption.shielded():    # what was trained is kept
                net.save(args.save)
            print("network3: saved the network to {0}".format(args.save))
        elif args.save:
            print("network3: no epoch was trained; {0} was not written".format(
                args.save), file=sys.stderr)
    if history.epochs:
        print("network3: {0:.1f} s in all, {1:.1f} s per epoch".format(
            time.perf_counter() - start, sum(history.seconds) / history.epochs))
        if args.plot_history:
            from network3 import plots
            plots.plot_history(history, args.plot_history)
            print("network3: drew the history to {0}".format(args.plot_history))
    if interruption.requested:
        return 130
    return {"interrupted": 130, "diverged": 1}.get(history.stopped, 0)


def _evaluate(args):
    net = load(args.model, device=args.device, backend=args.backend)
    parts = dict(zip(("training", "validation", "test"), data.load_data(args.data)))
    images, labels = parts[args.set]
    accuracy = net.accuracy((images, labels))
    print("{0}: {1} accuracy {2:.2%} ({3} of {4} images wrong)".format(
        args.model, args.set, accuracy, int(round((1 - accuracy) * len(labels))),
        len(labels)))
    if args.errors:
        from network3 import plots
        plots.plot_errors(images, labels, net.predict(images), args.errors)
        print("network3: drew the misclassified images to {0}".format(args.errors))
    return 0


def _predict(args):
    from network3.images import load_image
    net = load(args.model, device=args.device, backend=args.backend)
    for name in args.images:
        p = net.predict_proba(load_image(name))
        print("{0}: {1} ({2:.1%})".format(name, int(p.argmax()), float(p.max())))
    return 0


def _export(args):
    """``network3 export``: a bad model file or output path is one line and
    status 2, and leaves no file behind."""
    from network3 import onnx
    from network3.saving import ModelFileError
    try:
        net = load(args.model)
        onnx.export(net, args.output)
    except (ModelFileError, TypeError, ValueError, OSError) as error:
        print("network3 export: error: {0}".format(error), file=sys.stderr)
        return 2
    print("network3: wrote {0} ({1} bytes, ONNX opset {2})".format(
        args.output, os.path.getsize(args.output), onnx.OPSET))
    if args.check:
        images, labels = data.load_data(args.data)[2]
        mine, theirs = net.predict_proba(images), onnx.run(args.output, images)
        same = int((mine.argmax(axis=1) == theirs.argmax(axis=1)).sum())
        print("network3: onnxruntime gives the same digit as network3 for {0} of {1} "
              "test images; probabilities differ by at most {2:.2g}; test accuracy "
              "{3:.2%}".format(same, len(labels), float(np.abs(mine - theirs).max()),
                               float(np.mean(theirs.argmax(axis=1) == labels))))
        if same != len(labels):
            return 1
    return 0


def _serve(args):
    """``network3 serve``: a bad model file is one line and status 2; the
    server runs until Ctrl-C (status 130)."""
    from network3 import serve
    from network3.saving import ModelFileError
    try:
        model = serve.Model(load(args.model), os.path.basename(args.model))
    except (ModelFileError, ValueError) as error:
        print("network3 serve: error: {0}".format(error), file=sys.stderr)
        return 2
    if not serve.server.is_loopback(args.host):
        print("network3 serve: warning: listening on {0}: anyone who can reach this "
              "machine there can use the page and its API".format(args.host),
              file=sys.stderr)
    try:
        serve.serve(model, args.host, args.port,
                    say=lambda line: print(line, flush=True))
    except OSError as error:
        print("network3 serve: error: cannot listen on {0} port {1}: {2}".format(
            args.host, args.port, error.strerror or error), file=sys.stderr)
        return 1
    return 0


def _expand(args):
    print("Expanding the MNIST training set")
    if os.path.exists(args.output) and not args.force:
        print("The expanded training set already exists.  Exiting.")
        return 0
    start = time.perf_counter()
    training_data, validation_data, test_data = data.load_data(args.input)
    expanded = data.expand(training_data, rng=args.seed)
    print("Saving expanded data. This may take a few minutes.")
    data.save_data(args.output, (expanded, validation_data, test_data))
    print("Wrote {0} images to {1} in {2:.1f} s".format(
        len(expanded[0]), args.output, time.perf_counter() - start))
    return 0
