"""cli.py
~~~~~~~~

The ``network3`` command (also ``python -m network3``).

``network3 train`` (the default) trains one of the chapter's networks on the
bundled MNIST with the book's settings and prints the book's lines; options
shorten or vary the run.

"""

#### Libraries
# Standard library
import argparse
import sys
import time

# network3
from network3 import chapter, data, seeding
from network3.network import Network

_COMMANDS = ("train",)


def _parser():
    parser = argparse.ArgumentParser(
        prog="network3",
        description="Train the convolutional networks of chapter 6 of Neural "
                    "Networks and Deep Learning on MNIST.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser(
        "train", help="train one of the chapter's networks (the default)",
        description="Train one of the chapter's networks with the book's "
                    "hyper-parameters, unless options say otherwise.")
    names = ", ".join("{0} ({1})".format(k, r.description)
                      for k, r in chapter.RECIPES.items())
    train.add_argument("--net", choices=list(chapter.RECIPES), default="relu",
                       metavar="NAME",
                       help="which network: " + names + ". Default: relu.")
    train.add_argument("--epochs", type=int, help="default: the book's (60; 40 for dropout)")
    train.add_argument("--eta", type=float, help="learning rate; default: the book's")
    train.add_argument("--lmbda", type=float, help="L2 regularization; default: the book's")
    train.add_argument("--mini-batch-size", type=int, default=10, metavar="N",
                       help="default: 10")
    train.add_argument("--data", default="../data/mnist.pkl.gz", metavar="FILE",
                       help="data file in the format of mnist.pkl.gz "
                            "(default: the bundled MNIST)")
    train.add_argument("--train-size", type=int, metavar="N",
                       help="train on the first N training images only")
    train.add_argument("--seed", type=int, help="make the run repeatable")
    train.add_argument("--device", choices=["cpu", "gpu", "cuda"],
                       help="where to train (default: THEANO_FLAGS' device, else "
                            "the CPU); a GPU needs a CUDA-enabled JAX")
    train.add_argument("--backend", choices=["numba", "jax"],
                       help="default: numba on the CPU, jax on a GPU")
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in _COMMANDS + ("-h", "--help"):
        argv.insert(0, "train")
    args = _parser().parse_args(argv)
    try:
        return _train(args)
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        print("network3: error: {0}".format(error), file=sys.stderr)
        return 1
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
        if args.train_size <= 0:
            raise ValueError("--train-size must be positive, got {0}".format(
                args.train_size))
        training_data = tuple(part[:args.train_size] for part in training_data)
    training_data, validation_data, test_data = (
        data.shared(part) for part in (training_data, validation_data, test_data))
    net = Network(chapter.build_layers(args.net, args.mini_batch_size),
                  args.mini_batch_size, device=args.device, backend=args.backend)
    print("network3: {0}; {1} epochs, mini-batch {2}, eta={3}, lmbda={4}".format(
        recipe.description, epochs, args.mini_batch_size, eta, lmbda))
    start = time.perf_counter()
    history = net.SGD(training_data, epochs, args.mini_batch_size, eta,
                      validation_data, test_data, lmbda=lmbda)
    if history.epochs:
        print("network3: {0:.1f} s in all, {1:.1f} s per epoch".format(
            time.perf_counter() - start, sum(history.seconds) / history.epochs))
    return 0
