"""compat
~~~~~~~~~

Code written for other libraries, run on network3.

* :mod:`network3.compat.theano`: ``import theano`` served by PyTensor and
  network3's convolution, pooling and random-stream Ops, so that Theano-era
  code (the chapter's own ``network3.py`` and its forks, the Theano
  tutorials) runs unchanged.  :mod:`network3.compat.importer` activates it:
  ``network3 run SCRIPT`` or ``network3.compat.theano.install()``.

"""
