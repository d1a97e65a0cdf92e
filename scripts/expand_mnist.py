"""expand_mnist.py
~~~~~~~~~~~~~~~~~~

Take the 50,000 MNIST training images, and create an expanded set of 250,000
images, by displacing each training image up, down, left and right, by one
pixel.  Save the resulting file to ``data/mnist_expanded.pkl.gz``, which the
chapter loads with ``network3.load_data_shared("../data/mnist_expanded.pkl.gz")``.

Usage: ``python scripts/expand_mnist.py [--force] [--seed N] [--output FILE]``
"""

import argparse
import os
import sys
import time

from network3 import data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--input", default=os.path.join(data.DATA_DIR, "mnist.pkl.gz"))
    parser.add_argument("--output",
                        default=os.path.join(data.DATA_DIR, "mnist_expanded.pkl.gz"))
    parser.add_argument("--seed", type=int, help="seed of the shuffle")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the file even if it exists")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
