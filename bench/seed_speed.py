"""One training step on the post's example: the post's algorithm against ours.

The post's example is ``ones(10) * i`` for ``i`` in ``0..n/2-1``, twice. Its
code scores every pair with its own Keras call on one tape and rescores every
pair at every step; ours builds the tree natively and replays only the chosen
merges under the tape. Both start from the same weights and take one Adam step.

    python bench/seed_speed.py [--sizes 20 40] [--reference-steps 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import greedy_rae as gr  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from device import print_device  # noqa: E402
from seed_reference import merge, merge_encoder, ts2leafs  # noqa: E402


def example(n: int) -> np.ndarray:
    half = [np.ones(10, dtype=np.float32) * i for i in range(n // 2)]
    return np.stack(half + half)


def reference_step_seconds(x: np.ndarray, net: keras.Model, steps: int) -> float:
    optimizer = keras.optimizers.Adam()
    leaves = ts2leafs(x)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        with tf.GradientTape() as tape:
            node, _ = merge(leaves, net)
        g = tape.gradient(node.score, net.trainable_variables)
        optimizer.apply_gradients(zip(g, net.trainable_variables))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def our_step_seconds(x: np.ndarray, net: keras.Model, steps: int) -> float:
    rae = gr.RAE(network=net)
    seqs = [x]
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        rae.train_step(seqs)
        times.append(time.perf_counter() - t)
    # The median leaves out the one-time tracing of the compiled replay (once
    # per depth bucket, when training first reaches it).
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[20, 40])
    p.add_argument("--reference-steps", type=int, default=2)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="small sizes and few steps: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.sizes, args.reference_steps, args.steps = [6], 1, 5
    print_device()
    print(f"{'n':>4} {'post (s/step)':>14} {'greedy_rae (ms/step)':>21} {'speed-up':>9}")
    for n in args.sizes:
        x = example(n)
        keras.utils.set_random_seed(0)
        ref_net = merge_encoder(10)
        ours = gr.merge_network(10)
        ours.set_weights(ref_net.get_weights())
        # ours first: the reference leaves thousands of eager tensors behind,
        # which slow every later garbage collection
        our = our_step_seconds(x, ours, args.steps)
        ref = reference_step_seconds(x, ref_net, args.reference_steps)
        print(f"{n:>4} {ref:>14.3f} {our * 1e3:>21.3f} {ref / our:>8.0f}x", flush=True)


if __name__ == "__main__":
    main()
