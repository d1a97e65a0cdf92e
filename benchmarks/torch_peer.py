"""The peer: the chapter's networks in PyTorch (CPU, eager), doing the same
computation as network3's training step.

Same architecture, the same initial weights (read from the ``.npz`` file
network3 wrote), the same mini-batches in the same order, the same cost
(log-likelihood plus the book's L2 term), plain SGD, and dropout as the
chapter does it (a 0/1 mask, no rescaling while training).  Theano's
convolution flips the kernel, so the weights are flipped once on loading to
give PyTorch's cross-correlation the same result.

Run by ``bench_cpu.py`` in a process of its own (sharing a process with
NumPy's BLAS threads slows PyTorch down); prints one JSON line.
"""

import argparse
import json
import time

import numpy as np
import torch

TORCH_AT = time.time()           # (``--first``: when torch was imported)


def build(weights, spec, device="cpu"):
    """Parameters as leaf tensors, and a function from images to log-probabilities."""
    params, layers = [], []
    for k, layer in enumerate(spec):
        w = torch.tensor(np.ascontiguousarray(weights["w{0}".format(k)]), device=device)
        b = torch.tensor(weights["b{0}".format(k)], device=device)
        if layer["type"] == "ConvPoolLayer":
            w = torch.flip(w, dims=(2, 3)).contiguous()
        w.requires_grad_(True)
        b.requires_grad_(True)
        params += [w, b]
        layers.append((layer, w, b))
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh,
           "linear": lambda z: z}

    def forward(x):
        a = x
        for layer, w, b in layers:
            activation = act[layer.get("activation_fn", "linear").lower()]
            if layer["type"] == "ConvPoolLayer":
                a = a.reshape((-1,) + tuple(layer["image_shape"][1:]))
                a = torch.nn.functional.conv2d(a, w)
                a = torch.nn.functional.max_pool2d(a, layer["poolsize"])
                a = activation(a + b.view(1, -1, 1, 1))
            else:
                a = a.reshape(a.shape[0], -1)
                if layer["p_dropout"]:
                    a = a * torch.bernoulli(torch.full_like(a, 1 - layer["p_dropout"]))
                z = a @ w + b
                a = (torch.log_softmax(z, dim=1) if layer["type"] == "SoftmaxLayer"
                     else activation(z))
        return a

    return params, forward


def sgd_step(params, forward, x_all, y_all, batch, eta, lmbda, n_batches):
    """``step(i)``: plain SGD on mini-batch ``i`` with the chapter's cost
    (log-likelihood plus ``0.5*lmbda/n_batches*sum(w**2)``)."""
    weight_params, l2 = params[0::2], lmbda / n_batches

    def step(i):
        x = x_all[i*batch:(i+1)*batch]
        y = y_all[i*batch:(i+1)*batch]
        cost = torch.nn.functional.nll_loss(forward(x), y)
        if lmbda:
            cost = cost + 0.5 * l2 * sum((w**2).sum() for w in weight_params)
        for p in params:
            p.grad = None
        cost.backward()
        with torch.no_grad():
            for p in params:
                p -= eta * p.grad
        return cost
    return step


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", required=True)
    parser.add_argument("--spec", required=True, help="JSON list of layer specs")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--eta", type=float, default=0.03)
    parser.add_argument("--lmbda", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--first", action="store_true",
                        help="instead: when (time.time()) torch was imported, the net "
                             "was ready and its first two mini-batches were trained")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = np.load(args.weights)
    x_all = torch.tensor(weights["images"])
    y_all = torch.tensor(weights["labels"]).long()
    params, forward = build(weights, json.loads(args.spec))
    n_batches = len(x_all) // args.batch
    step = sgd_step(params, forward, x_all, y_all, args.batch, args.eta, args.lmbda,
                    n_batches)
    if args.first:
        ready = time.time()
        step(0)
        step(1)
        print(json.dumps({"import": TORCH_AT, "ready": ready, "second_step": time.time()}))
        return

    for i in range(10):                      # warm up
        step(i % n_batches)
    start = time.perf_counter()
    for i in range(args.steps):
        step(i % n_batches)
    seconds = time.perf_counter() - start
    print(json.dumps({"step_us": seconds / args.steps * 1e6,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
