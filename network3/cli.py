"""cli.py
~~~~~~~~

The ``network3`` command (also ``python -m network3``)::

    network3 train        train one of the chapter's networks, or layers you describe
    network3 evaluate     measure a saved network on a data set
    network3 expand       make the expanded training set (scripts/expand_mnist.py)
    network3 experiments  run the chapter's ladder of experiments
    network3 sweep        search hyper-parameters: a grid, or random combinations

``train`` is the default: ``network3 --net fc --epochs 5`` trains.  Exit
status: 0 on success, 1 on an error (a message says what went wrong), 2 on
bad arguments (with a usage line), 130 when interrupted by Ctrl-C.

"""

#### Libraries
# Standard library
import argparse
import os
import signal
import sys
import threading
import time

# network3
from network3 import activations, chapter, data, seeding
from network3.network import Network, load
from network3.schedules import halve_on_plateau
# parse_layers and the augmentation specs are network3.specs'; the command
# line has always offered them here too
from network3.specs import format_augmentation, parse_augmentation, parse_layers
from network3.interrupts import Interruption, is_interrupt

_COMMANDS = ("train", "evaluate", "expand", "experiments", "sweep")

_LAYERS_HELP = """\
--layers SPEC describes a network instead of --net: comma-separated layers,
input first, e.g. "conv20,conv40,fc100,softmax" with --activation relu is the
chapter's ReLU net.
  conv<N>[x<K>][p<P>]  N filters of KxK pixels (default 5), max-pooled PxP (default 2)
  conv...:<mode>       pooling max, l2, sum, average_inc_pad or average_exc_pad
  conv...:<option>=<V> pool_stride, pool_pad, border_mode (valid, full, half) or
                       subsample, V pixels N or NxM, e.g. conv20:l2:pool_stride=1
  fc<N>                a fully connected layer of N neurons
  softmax[<N>]         the output layer, last (N classes, default 10)
  ...:d<P>             dropout with probability P (fc and softmax), e.g. fc1000:d0.5

examples:
  network3 --net fc --epochs 5
  network3 --layers conv20,fc100,softmax --activation relu --eta 0.03 --epochs 10
  network3 --data /usr/share/datasets/fashion-mnist --net relu --epochs 10
  network3 --checkpoint best.npz      # then: network3 evaluate best.npz
  network3 --net relu --augment shift=2,rotate=10,elastic=34x4
"""


#### --augment SPEC
def _augment_argument(text):
    """``--augment SPEC`` for argparse, which reports a bad one with usage."""
    try:
        return parse_augmentation(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).replace("--augment: ", ""))


#### The parser
def _parser():
    parser = argparse.ArgumentParser(
        prog="network3",
        description="Train and use the convolutional networks of chapter 6 of "
                    "Neural Networks and Deep Learning (MNIST and other 28x28 data "
                    "sets).  'train' is the default command.",
        epilog="Run 'network3 COMMAND --help' for a command's options.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(commands)

    evaluate = commands.add_parser(
        "evaluate", help="measure a saved network on a data set",
        description="Load a network saved with --save/--checkpoint (or "
                    "Network.save) and print its accuracy on a data set.")
    evaluate.add_argument("model", metavar="MODEL", help="a saved network (.npz)")
    _data_arguments(evaluate)
    evaluate.add_argument("--set", choices=["test", "validation", "training"],
                          default="test", help="which part of the data (default test)")
    evaluate.add_argument("--errors", metavar="PNG",
                          help="also draw the misclassified images to PNG")
    _device_arguments(evaluate)

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

    commands.add_parser(
        "experiments", add_help=False,
        help="run the chapter's ladder of experiments (see 'network3 experiments "
             "--help')")
    commands.add_parser(
        "sweep", add_help=False,
        help="search hyper-parameters: train a grid (or random combinations) of "
             "values, here or on Dask (see 'network3 sweep --help')")
    return parser


def _train_parser(commands):
    train = commands.add_parser(
        "train", help="train one of the chapter's networks (the default)",
        description="Train one of the chapter's networks with the book's "
                    "hyper-parameters, unless options say otherwise, printing the "
                    "book's lines.", epilog=_LAYERS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ", ".join("{0} ({1})".format(k, r.description)
                      for k, r in chapter.RECIPES.items())
    train.add_argument("--net", choices=list(chapter.RECIPES), default="relu",
                       metavar="NAME", help="which network: " + names + ". Default: "
                       "relu. (The book trains the expanded* and dropout nets on "
                       "the expanded data: --data ../data/mnist_expanded.pkl.gz)")
    train.add_argument("--layers", metavar="SPEC",
                       help="describe the layers instead (see below)")
    train.add_argument("--activation", default="sigmoid",
                       choices=[name.lower() for name in activations.ACTIVATIONS],
                       help="activation of --layers (default sigmoid)")
    train.add_argument("--epochs", type=int,
                       help="default: the book's (60; 40 for dropout)")
    train.add_argument("--eta", type=float, help="learning rate; default: the book's")
    train.add_argument("--lmbda", type=float,
                       help="L2 regularization; default: the book's")
    train.add_argument("--mini-batch-size", type=int, default=10, metavar="N",
                       help="default: 10")
    train.add_argument("--momentum", type=float, default=0.0, metavar="MU",
                       help="momentum-based gradient descent (chapter 3), MU in "
                            "[0, 1); default 0: plain SGD")
    train.add_argument("--halve-on-plateau", type=int, metavar="PATIENCE",
                       help="start at --eta and halve it after PATIENCE epochs without "
                            "better validation accuracy; stop at eta/128 (chapter 3)")
    train.add_argument("--early-stopping", type=int, metavar="N",
                       help="stop after N epochs without better validation accuracy")
    train.add_argument("--init", choices=["book", "he", "glorot"], default="book",
                       help="initial weights: the chapter's (default), He's (for "
                            "ReLUs) or Glorot's")
    train.add_argument("--monitor-training", type=int, nargs="?", const=True,
                       default=False, metavar="N",
                       help="also measure accuracy and cost on (N, default 10,000) "
                            "training images each epoch, to see overfitting")
    train.add_argument("--augment", nargs="?", const=chapter.AUGMENTATION,
                       type=_augment_argument, metavar="SPEC",
                       help="train every epoch on freshly transformed images: SPEC is "
                            "comma-separated shift=PIXELS, rotate=DEGREES, "
                            "shear=DEGREES, scale=FRACTION, elastic=ALPHAxSIGMA "
                            "(Simard et al.), method=numba|scipy; --augment alone: "
                            + format_augmentation(chapter.AUGMENTATION) + " (also "
                            "--net augmented's)")
    train.add_argument("--plot-history", metavar="FILE",
                       help="draw the accuracies and costs per epoch to FILE (PNG)")
    _data_arguments(train)
    train.add_argument("--train-size", type=int, metavar="N",
                       help="train on the first N training images only")
    train.add_argument("--seed", type=int, help="make the run repeatable")
    _device_arguments(train)
    train.add_argument("--checkpoint", metavar="FILE",
                       help="save the best network so far to FILE after each epoch "
                            "that improves it (survives Ctrl-C and crashes)")
    train.add_argument("--save", metavar="FILE",
                       help="save the trained network to FILE at the end")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="a progress bar per epoch (default: on a terminal)")


def _data_arguments(parser):
    parser.add_argument("--data", default="../data/mnist.pkl.gz", metavar="PATH",
                        help="a data file in the format of mnist.pkl.gz, or a folder "
                             "of IDX files such as Fashion-MNIST's (default: the "
                             "bundled MNIST)")


def _device_arguments(parser):
    parser.add_argument("--device", choices=["cpu", "gpu", "cuda"],
                        help="where to run (default: THEANO_FLAGS' device, else the "
                             "CPU); a GPU needs a CUDA-enabled JAX")
    parser.add_argument("--backend", choices=["numba", "jax"],
                        help="default: numba on the CPU, jax on a GPU")


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


def main(argv=None):
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS + ("-h", "--help"):
        argv.insert(0, "train")
    if argv[0] == "experiments":
        from network3 import experiments
        return experiments.main(argv[1:], prog="network3 experiments")
    if argv[0] == "sweep":
        from network3 import sweeps
        return sweeps.main(argv[1:], prog="network3 sweep")
    parser = _parser()
    args = parser.parse_args(argv)
    for name in ("epochs", "mini_batch_size", "train_size"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "epochs" else 1):
            parser.error("--{0} must be {1}, got {2}".format(
                name.replace("_", "-"), "non-negative" if name == "epochs"
                else "positive", value))
    try:
        return {"train": _train, "evaluate": _evaluate, "expand": _expand}[
            args.command](args)
    except (OSError, ValueError, TypeError, RuntimeError, SystemError) as error:
        if not is_interrupt(error):
            if isinstance(error, SystemError):
                raise
            print("network3: error: {0}".format(error), file=sys.stderr)
            return 1
        print("network3: interrupted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("network3: interrupted", file=sys.stderr)
        return 130


def _train(args):
    recipe = chapter.RECIPES[args.net]
    epochs = recipe.epochs if args.epochs is None else args.epochs
    eta = recipe.eta if args.eta is None else args.eta
    lmbda = recipe.lmbda if args.lmbda is None else args.lmbda
    if args.seed is not None:
        seeding.seed(args.seed)
    training_data, validation_data, test_data = data.load_data(args.data)
    if args.train_size is not None:
        training_data = tuple(part[:args.train_size] for part in training_data)
    side = int(round(training_data[0].shape[1] ** 0.5))
    if args.layers:
        layers = parse_layers(args.layers, args.mini_batch_size, args.activation,
                              image_side=side, init=args.init)
        description = "layers " + args.layers
    else:
        layers = chapter.build_layers(args.net, args.mini_batch_size, args.init)
        description = recipe.description
    training_data, validation_data, test_data = (
        data.shared(part) for part in (training_data, validation_data, test_data))
    net = Network(layers, args.mini_batch_size, device=args.device,
                  backend=args.backend)
    print("network3: {0}; {1} epochs, mini-batch {2}, eta={3}, lmbda={4}".format(
        description, epochs, args.mini_batch_size, eta, lmbda))
    if args.halve_on_plateau is not None:
        eta = halve_on_plateau(eta, patience=args.halve_on_plateau)
    augment = args.augment or (None if args.layers else recipe.augment)
    if augment is not None:
        print("network3: each epoch's training images transformed afresh: " +
              format_augmentation(augment))
    start = time.perf_counter()
    with Interruption() as interruption:
        history = net.SGD(training_data, epochs, args.mini_batch_size, eta,
                          validation_data, test_data, lmbda=lmbda,
                          checkpoint=args.checkpoint, progress=args.progress,
                          early_stopping=args.early_stopping, momentum=args.momentum,
                          monitor_training=args.monitor_training, augment=augment)
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
