"""params.py
~~~~~~~~~~~~~

One way to make a layer's parameters: :func:`initial` draws initial
weights and biases as the book does (or as He et al., or Glorot and Bengio,
suggest), and :func:`parameter` makes a trainable floatX shared variable.

"""

#### Libraries
# Third-party libraries
import numpy as np
import pytensor

# network3
from network3 import config


#: How a layer's initial weights are drawn (see :func:`initial`).
INITS = ("book", "he", "glorot")


def initial(init, rng, shape, fan_in, fan_out, book_n_out):
    """A layer's initial weights (of ``shape``) and biases (one per
    ``shape[0]`` for a conv layer's filters, else ``shape[-1]``), drawn from
    ``rng``:

    * ``"book"``: the chapter's, weights N(0, 1/``book_n_out``) and biases
      N(0, 1);
    * ``"he"``: He et al. (2015) for ReLUs, weights N(0, 2/fan_in), biases 0;
    * ``"glorot"``: Glorot and Bengio (2010), weights N(0, 2/(fan_in +
      fan_out)), biases 0.
    """
    scale = {"book": 1.0 / book_n_out, "he": 2.0 / fan_in,
             "glorot": 2.0 / (fan_in + fan_out)}[init]
    w = rng.normal(loc=0.0, scale=np.sqrt(scale), size=shape)
    n_biases = shape[0] if len(shape) == 4 else shape[-1]
    b = (rng.normal(loc=0.0, scale=1.0, size=(n_biases,)) if init == "book"
         else np.zeros(n_biases))
    return w, b


def parameter(value, name):
    """Make a trainable parameter: a floatX shared variable called ``name``
    (``Network`` prefixes it with the layer's class and index, e.g.
    ``"ConvPoolLayer0.w"``)."""
    return pytensor.shared(np.asarray(value, dtype=config.floatX),
                           name=name, borrow=True)
