"""state.py: what hooks see of training is where training is, and eta has
one home, which the training step reads."""

import numpy as np

import network3
from network3 import FullyConnectedLayer, Network, SoftmaxLayer, callbacks

from test_network import tiny_data


class Watches(callbacks.Callback):
    """Writes down, at each hook, where the state says training is."""

    def __init__(self):
        self.seen = []

    def on_epoch_begin(self, net, state, event):
        self.seen.append(("epoch_begin", event.epoch, state.epoch, state.minibatch_index,
                          len(state.costs)))

    def on_batches_begin(self, net, state, event):
        self.seen.append(("batches_begin", event.batches.start, state.iteration,
                          state.epoch, state.minibatch_index))

    def on_epoch_end(self, net, state, event):
        # the step's shared variable holds what the state says eta is
        graph = net.training_graph(False, state.settings.update)
        self.seen.append(("epoch_end", event.epoch, state.history.epochs,
                          float(graph.eta.get_value()), state.eta))


def test_hooks_see_where_training_is_and_the_step_uses_the_states_eta():
    x, y = tiny_data(60, 16, 3, seed=1)
    network3.seed(5)
    net = Network([FullyConnectedLayer(16, 6), SoftmaxLayer(6, 3)], 4)
    watch = Watches()

    class Decays(callbacks.Callback):
        def on_epoch_begin(self, net, state, event):
            state.eta = 0.5 / (1 + event.epoch)

    history = net.SGD((x, y), 3, 4, 0.5, (x, y), None, verbose=False,
                      callbacks=[Decays(), watch])
    assert history.eta == [0.5, 0.25, 0.5 / 3]
    n = 15
    for name, *values in watch.seen:
        if name == "epoch_begin":
            epoch, state_epoch, index, costs = values
            assert (state_epoch, index, costs) == (epoch, 0, 0)
        elif name == "batches_begin":
            first, iteration, epoch, index = values
            assert first == iteration == n * epoch + index
        else:
            epoch, recorded, in_graph, eta = values
            assert recorded == epoch + 1
            assert in_graph == np.float32(eta).item() and eta == history.eta[epoch]
    assert [v[1] for v in watch.seen if v[0] == "batches_begin"][:1] == [0]
