"""expand_mnist.py
~~~~~~~~~~~~~~~~~~

Take the 50,000 MNIST training images, and create an expanded set of 250,000
images, by displacing each training image up, down, left and right, by one
pixel.  Save the resulting file to ``data/mnist_expanded.pkl.gz``, which the
chapter loads with ``network3.load_data_shared("../data/mnist_expanded.pkl.gz")``.

Usage: ``python scripts/expand_mnist.py [--force] [--seed N] [--output FILE]``
(the same as ``network3 expand``).
"""

import sys

from network3 import cli

if __name__ == "__main__":
    sys.exit(cli.main(["expand"] + sys.argv[1:]))
