"""updates.py
~~~~~~~~~~~~~

Update rules: how a training step moves the parameters once it has their
gradients.  The book's is plain gradient descent, ``w -> w - eta*grad``;
chapter 3 adds momentum, and the rules that came after the book (Nesterov's
momentum, AdaGrad, RMSProp, Adam) are here too, in the form Lasagne's
``updates`` module made familiar.

Each rule is an :class:`UpdateRule`: called with the parameters, their
gradients, the learning rate and its own hyper-parameters (all symbolic),
it returns the updates of one step and its *state*, the shared variables it
keeps between steps (velocities, running averages, a step count).  SGD sets
the state to zero when it starts.  The hyper-parameters (``mu``, ``rho``,
``epsilon``, ...) are shared variables of the training graph, like eta, so
another SGD call with other values recompiles nothing.

``SGD(..., update=network3.updates.adam())``; ``momentum=mu`` is short for
``update=momentum(mu)``.  Learning-rate schedules apply to every rule (they
change eta), and the L2 term stays in the cost, as the book has it.

A rule of your own is a subclass with a ``name``, its hyper-parameters as
keyword arguments of ``__init__`` (passed to ``UpdateRule.__init__``) and a
:meth:`UpdateRule.step`.

"""

#### Libraries
# Standard library
import math
import numbers

# Third-party libraries
import numpy as np
import pytensor
import pytensor.tensor as T

# network3
from network3 import checks, config


class UpdateRule(object):
    """How parameters move, given their gradients: the base of every rule.

    Parameters
    ----------
    **hyper : float
        The rule's hyper-parameters by name (each a finite number), which
        :meth:`step` receives as symbolic scalars.

    Attributes
    ----------
    name : str
        The rule's name, as ``--update`` spells it.
    hyper : dict
        The hyper-parameters' values.
    """

    name = None

    def __init__(self, **hyper):
        for key, value in hyper.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ValueError("{0}: {1} must be a finite number, got {2!r}".format(
                    self.name, key, value))
        self.hyper = {key: float(value) for key, value in hyper.items()}

    def step(self, params, grads, eta, hyper):
        """The updates of one training step.

        Parameters
        ----------
        params : list of shared variables
        grads : list of symbolic tensors
            The cost's gradient with respect to each parameter.
        eta : symbolic scalar
            The learning rate.
        hyper : dict
            The hyper-parameters by name, as symbolic scalars.

        Returns
        -------
        updates : list of (shared variable, symbolic value)
            Every parameter's new value, and every state variable's.
        state : list of shared variables
            What the rule keeps between steps, set to zero when SGD starts.
        """
        raise NotImplementedError

    @property
    def key(self):
        """What decides the shape of the training graph: the rule's type and
        the names of its hyper-parameters (not their values)."""
        return (type(self), tuple(sorted(self.hyper)))

    def __repr__(self):
        return "{0}({1})".format(self.name, ", ".join(
            "{0}={1:g}".format(k, v) for k, v in self.hyper.items()))


def _zeros_like(param, what):
    """A shared variable of zeros shaped like ``param``, named for it."""
    return pytensor.shared(np.zeros_like(param.get_value(borrow=True)),
                           name="{0}.{1}".format(param.name, what))


#### The rules
class sgd(UpdateRule):
    """The book's gradient descent: ``w <- w - eta*grad``."""

    name = "sgd"

    def __init__(self):
        super().__init__()

    def step(self, params, grads, eta, hyper):
        return [(param, param-eta*grad) for param, grad in zip(params, grads)], []


class momentum(UpdateRule):
    """Chapter 3's momentum-based gradient descent: each parameter has a
    velocity, ``v <- mu*v - eta*grad``, and moves by it, ``w <- w + v``.

    Parameters
    ----------
    mu : float in [0, 1)
        The momentum coefficient (1 - friction); 0 is plain gradient descent.
    """

    name = "momentum"

    def __init__(self, mu=0.9):
        super().__init__(mu=checks.fraction(self.name, "mu", mu))

    def step(self, params, grads, eta, hyper):
        velocities = [_zeros_like(param, "velocity") for param in params]
        new = [hyper["mu"]*v - eta*grad for v, grad in zip(velocities, grads)]
        updates = list(zip(velocities, new))
        updates += [(param, param+v) for param, v in zip(params, new)]
        return updates, velocities


class nesterov(UpdateRule):
    """Nesterov's accelerated gradient, in the form Sutskever et al. (2013)
    and Lasagne use: ``v <- mu*v - eta*grad``, then ``w <- w + mu*v -
    eta*grad`` (a step from where momentum is about to take ``w``).

    Parameters
    ----------
    mu : float in [0, 1)
    """

    name = "nesterov"

    def __init__(self, mu=0.9):
        super().__init__(mu=checks.fraction(self.name, "mu", mu))

    def step(self, params, grads, eta, hyper):
        mu = hyper["mu"]
        velocities = [_zeros_like(param, "velocity") for param in params]
        new = [mu*v - eta*grad for v, grad in zip(velocities, grads)]
        updates = list(zip(velocities, new))
        updates += [(param, param + mu*v - eta*grad)
                    for param, v, grad in zip(params, new, grads)]
        return updates, velocities


class adagrad(UpdateRule):
    """AdaGrad (Duchi et al., 2011): each weight's step is divided by the
    root of the sum of its squared gradients so far, ``r <- r + grad**2``,
    ``w <- w - eta*grad/sqrt(r + epsilon)``.

    Parameters
    ----------
    epsilon : float > 0
    """

    name = "adagrad"

    def __init__(self, epsilon=1e-6):
        super().__init__(epsilon=checks.positive_number(self.name, "epsilon", epsilon))

    def step(self, params, grads, eta, hyper):
        sums = [_zeros_like(param, "squared_gradients") for param in params]
        new = [r + grad**2 for r, grad in zip(sums, grads)]
        updates = list(zip(sums, new))
        updates += [(param, param - eta*grad/T.sqrt(r + hyper["epsilon"]))
                    for param, grad, r in zip(params, grads, new)]
        return updates, sums


class rmsprop(UpdateRule):
    """RMSProp (Tieleman and Hinton, 2012): as AdaGrad, with a running
    average instead of a sum, ``r <- rho*r + (1-rho)*grad**2``,
    ``w <- w - eta*grad/sqrt(r + epsilon)``.

    Parameters
    ----------
    rho : float in [0, 1)
    epsilon : float > 0
    """

    name = "rmsprop"

    def __init__(self, rho=0.9, epsilon=1e-6):
        super().__init__(rho=checks.fraction(self.name, "rho", rho),
                         epsilon=checks.positive_number(self.name, "epsilon", epsilon))

    def step(self, params, grads, eta, hyper):
        rho = hyper["rho"]
        averages = [_zeros_like(param, "mean_square") for param in params]
        new = [rho*r + (1-rho)*grad**2 for r, grad in zip(averages, grads)]
        updates = list(zip(averages, new))
        updates += [(param, param - eta*grad/T.sqrt(r + hyper["epsilon"]))
                    for param, grad, r in zip(params, grads, new)]
        return updates, averages


class adam(UpdateRule):
    """Adam (Kingma and Ba, 2015), bias-corrected: with ``t`` the step
    number (1, 2, ...), ``m <- beta1*m + (1-beta1)*grad``, ``v <- beta2*v +
    (1-beta2)*grad**2``, ``w <- w - eta*m_hat/(sqrt(v_hat) + epsilon)``,
    where ``m_hat = m/(1-beta1**t)`` and ``v_hat = v/(1-beta2**t)``.

    Parameters
    ----------
    beta1, beta2 : float in [0, 1)
    epsilon : float > 0
    """

    name = "adam"

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(beta1=checks.fraction(self.name, "beta1", beta1),
                         beta2=checks.fraction(self.name, "beta2", beta2),
                         epsilon=checks.positive_number(self.name, "epsilon", epsilon))

    def step(self, params, grads, eta, hyper):
        beta1, beta2, epsilon = hyper["beta1"], hyper["beta2"], hyper["epsilon"]
        t = pytensor.shared(np.asarray(0.0, dtype=config.floatX), name="adam.t")
        t_new = t + 1
        firsts = [_zeros_like(param, "first_moment") for param in params]
        seconds = [_zeros_like(param, "second_moment") for param in params]
        updates = [(t, t_new)]
        for param, grad, m, v in zip(params, grads, firsts, seconds):
            m_new = beta1*m + (1-beta1)*grad
            v_new = beta2*v + (1-beta2)*grad**2
            m_hat = m_new / (1 - beta1**t_new)
            v_hat = v_new / (1 - beta2**t_new)
            updates += [(m, m_new), (v, v_new),
                        (param, param - eta*m_hat/(T.sqrt(v_hat) + epsilon))]
        return updates, [t] + firsts + seconds


#: The rules by the name ``--update`` takes.
RULES = {rule.name: rule for rule in (sgd, momentum, nesterov, adagrad, rmsprop, adam)}


def by_name(name):
    """A rule with its default hyper-parameters, from its name (``"adam"``)."""
    if name not in RULES:
        raise ValueError("update must be one of {0}, got {1!r}".format(
            ", ".join(RULES), name))
    return RULES[name]()


def check(update, owner="SGD"):
    """``update`` if it is an :class:`UpdateRule` (a name gives that rule
    with its defaults), else raise naming ``owner``."""
    if isinstance(update, str):
        return by_name(update)
    if not isinstance(update, UpdateRule):
        raise TypeError("{0}: update must be an update rule such as "
                        "network3.updates.adam() (or its name), got {1!r}".format(
                            owner, update))
    return update
