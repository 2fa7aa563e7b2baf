"""The TF scorer's cost per merge against one bare call of the network.

Networks the native engine does not compute (here the post's network forced
onto ``scorer="tf"``, and a user-built one with a sigmoid encoder) are scored
by TensorFlow: each greedy step scores the new node's pairs and embeds the
chosen parent. Ours: seconds per merge of ``greedy_tree`` on one sequence.
The floor, measured in the same run: one call of the same network, compiled
(``tf.function``), on as many pairs as one step scores (2 in adjacent mode),
from numpy inputs to numpy outputs (its parents and errors). Also shown: the
same through its concrete function, called with tensors (TensorFlow's
fastest call from Python), and our ratio to that.

    python bench/tf_scorer.py [--leaves 2000] [--dim 64] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import greedy_rae as gr  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from device import print_device  # noqa: E402


def sigmoid_network(dim: int) -> keras.Model:
    a, b = keras.Input((dim,)), keras.Input((dim,))
    c = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(dim, activation="sigmoid")(c)
    y = keras.layers.Dense(2 * dim)(h)
    return keras.Model([a, b], [h, c, y])


def bare_calls(net: keras.Model, dim: int, pairs: int, repeats: int = 2000) -> tuple[float, float]:
    @tf.function
    def call(a: tf.Tensor, b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h, c, y = net([a, b])
        return h, 0.5 * tf.reduce_sum(tf.square(y - c), axis=1)

    a = np.random.default_rng(0).normal(size=(pairs, dim)).astype(np.float32)
    concrete = call.get_concrete_function(tf.TensorSpec([None, dim]), tf.TensorSpec([None, dim]))
    best = [float("inf"), float("inf")]
    for _ in range(3):
        for k, (fn, convert) in enumerate(((call, np.asarray), (concrete, tf.constant))):
            fn(convert(a), convert(a))
            t = time.perf_counter()
            for _ in range(repeats):
                h, e = fn(convert(a), convert(a))
                h.numpy(), e.numpy()
            best[k] = min(best[k], (time.perf_counter() - t) / repeats)
    return best[0], best[1]


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--leaves", type=int, default=2000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--quick", action="store_true", help="a short sequence: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.leaves, args.dim = 100, 16
    print_device()
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).normal(size=(args.leaves, args.dim)).astype(np.float32)
    nets = {
        "post (scorer='tf')": gr.merge_network(args.dim),
        "sigmoid encoder": sigmoid_network(args.dim),
    }
    print(f"one sequence of {args.leaves} leaves, width {args.dim}, adjacent pairs")
    print(
        f"{'network':>20} {'ours (ms/merge)':>16} {'bare call (ms)':>15} {'ratio':>7}"
        f" {'concrete call (ms)':>19} {'ratio':>7}"
    )
    for name, net in nets.items():
        gr.greedy_tree(x[:50], net, "adjacent", scorer="tf")
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            gr.greedy_tree(x, net, "adjacent", scorer="tf")
            best = min(best, (time.perf_counter() - t) / (args.leaves - 1))
        call, concrete = bare_calls(net, args.dim, 2)
        print(
            f"{name:>20} {best * 1e3:>16.3f} {call * 1e3:>15.3f} {best / call:>7.2f}"
            f" {concrete * 1e3:>19.3f} {best / concrete:>7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
