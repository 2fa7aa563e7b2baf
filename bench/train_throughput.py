"""Training throughput: sequences per second against TensorFlow's flat floor.

2,048 sequences of 20 leaves, width 64, minibatches of 256, both pair modes,
for the post's linear network, Socher's (tanh, unit-length parent) and
Socher's with a 5-class label head (random labels). Ours: an epoch of
``RAE.fit`` (trees built natively, the minibatch's merges replayed by level
under the tape, one Adam step per minibatch), best of five. The floor, measured
in the same run: the same number of merges per minibatch (256 x 19) as one flat
batched forward + backward pass of the merge network plus the same Adam step,
compiled, no tree building at all; an epoch's worth of steps, best of five.
Also the post's code (one sequence per step, every candidate on the tape) on a
few sequences, for scale.

Then where one minibatch's time goes (linear network, all pairs), through the
public API: its trees (``rae.trees``, which also makes Tree objects), its loss
and gradients (``rae.loss_and_gradients``: the trees and the replay, no
optimizer step) and the whole ``train_step``, each best of 20, beside the
floor's step for the same merges.

Then ``fit``'s own overhead on the post's example (5 leaves, width 2): an
epoch of ``fit(x, epochs=100)`` and a whole ``fit(x, epochs=1)`` call against
one ``train_step(x)`` (the tree build, replay and optimizer step of the same
single-sequence minibatch), best of three.

    python bench/train_throughput.py [--sequences 2048] [--post 2] [--overhead 100] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import greedy_rae as gr  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from device import print_device  # noqa: E402

NETWORKS = {
    "linear": {},
    "socher": {"activation": "tanh", "normalize": True},
    "socher+head": {"activation": "tanh", "normalize": True, "classes": 5},
}


def ours(data: list[np.ndarray], dim: int, batch: int, pairs: str, kind: str) -> float:
    keras.utils.set_random_seed(0)
    options = NETWORKS[kind]
    rae = gr.RAE(dim, pairs=pairs, **options)  # type: ignore[arg-type]
    labels = None
    if "classes" in options:
        labels = np.random.default_rng(0).integers(0, options["classes"], len(data))
    fit = dict(epochs=1, batch_size=batch, verbose=0, labels=labels)
    rae.fit(data, seed=0, **fit)  # traces the replay
    best = float("inf")
    for epoch in range(5):
        t = time.perf_counter()
        rae.fit(data, seed=epoch + 1, **fit)
        best = min(best, time.perf_counter() - t)
    return len(data) / best


def floor(count: int, n: int, dim: int, batch: int) -> float:
    keras.utils.set_random_seed(0)
    net = gr.merge_network(dim)
    weights = net.trainable_weights
    opt = keras.optimizers.Adam()
    opt.build(weights)
    merges = batch * (n - 1)
    rng = np.random.default_rng(0)
    a = tf.constant(rng.normal(size=(merges, dim)).astype(np.float32))
    b = tf.constant(rng.normal(size=(merges, dim)).astype(np.float32))

    @tf.function
    def step(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            _, c, y = net([a, b], training=True)
            loss = 0.5 * tf.reduce_sum(tf.square(y - c)) / batch
        opt.apply(tape.gradient(loss, weights), weights)
        return loss

    step(a, b)
    steps = count // batch
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(steps):
            step(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return steps * batch / best


def post(data: list[np.ndarray], dim: int, pairs: str) -> float:
    from seed_reference import merge, merge_encoder, ts2leafs

    keras.utils.set_random_seed(0)
    m = merge_encoder(dim)
    opt = keras.optimizers.Adam()
    t = time.perf_counter()
    for x in data:
        with tf.GradientTape() as tape:
            node, _ = merge(ts2leafs(x), m, adjacent=pairs == "adjacent")
        g = tape.gradient(node.score, m.trainable_variables)
        opt.apply_gradients(zip(g, m.trainable_variables))
    return len(data) / (time.perf_counter() - t)


def breakdown(data: list[np.ndarray], dim: int, batch: int, flat: float) -> None:
    keras.utils.set_random_seed(0)
    rae = gr.RAE(dim, pairs="all")
    seqs = data[:batch]
    rae.train_step(seqs)
    rae.loss_and_gradients(seqs)

    def best(fn: Callable[[], object], pause: float = 0.0) -> float:
        times = []
        for _ in range(20):
            if pause:
                time.sleep(pause)
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    floor_step = batch / flat
    parts = {
        "trees (rae.trees)": best(lambda: rae.trees(seqs)),
        "loss_and_gradients": best(lambda: rae.loss_and_gradients(seqs)),
        "whole train_step": best(lambda: rae.train_step(seqs)),
    }
    print(f"\none minibatch of {batch}, linear network, all pairs (best of 20)")
    print(f"  {'TF flat floor step':<26} {floor_step * 1e3:7.2f} ms")
    for name, seconds in parts.items():
        ratio = seconds / floor_step
        print(f"  {name:<26} {seconds * 1e3:7.2f} ms   {ratio:5.2f}x the floor's step")


def overhead(repeats: int) -> None:
    x = np.array([[1, 2], [2, 3], [1, 2], [5, 6], [2, 3]], dtype=np.float32)
    keras.utils.set_random_seed(0)
    rae = gr.RAE(2)
    rae.fit([x], epochs=2, verbose=0)
    rae.train_step([x])
    step = per_epoch = per_call = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            rae.train_step([x])
        step = min(step, (time.perf_counter() - t) / repeats)
        t = time.perf_counter()
        rae.fit([x], epochs=repeats, verbose=0)
        per_epoch = min(per_epoch, (time.perf_counter() - t) / repeats)
        t = time.perf_counter()
        for _ in range(repeats):
            rae.fit([x], epochs=1, verbose=0)
        per_call = min(per_call, (time.perf_counter() - t) / repeats)
    print(f"\nfit's overhead, the post's example ({repeats} repeats, best of 3)")
    print(f"  train_step                  {step * 1e3:7.3f} ms")
    print(
        f"  fit(epochs={repeats}), an epoch   {per_epoch * 1e3:7.3f} ms"
        f"   overhead {(per_epoch - step) * 1e3:+.3f} ms (goal <= 0.5 ms)"
    )
    print(
        f"  fit(epochs=1), a call       {per_call * 1e3:7.3f} ms"
        f"   overhead {(per_call - step) * 1e3:+.3f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sequences", type=int, default=2048)
    p.add_argument("--leaves", type=int, default=20)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--post", type=int, default=2, help="sequences for the post's code (0: skip)")
    p.add_argument("--overhead", type=int, default=100, help="fits for fit's overhead (0: skip)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.sequences, args.leaves, args.dim, args.batch = 64, 8, 8, 32
        args.post, args.overhead = 1, 5
    print_device()
    rng = np.random.default_rng(0)
    data = [
        rng.normal(size=(args.leaves, args.dim)).astype(np.float32) for _ in range(args.sequences)
    ]
    flat = floor(args.sequences, args.leaves, args.dim, args.batch)
    print(
        f"{args.sequences} sequences x {args.leaves} leaves, width {args.dim}, batch {args.batch}"
    )
    print(
        f"{'network':>12} {'pairs':>9} {'greedy_rae (seq/s)':>19} {'TF flat floor (seq/s)':>22}"
        f" {'floor/ours':>11} {'linear/ours':>12} {'post (seq/s)':>13}"
    )
    for pairs in ("all", "adjacent"):
        linear = float("nan")
        for kind in NETWORKS:
            ours_rate = ours(data, args.dim, args.batch, pairs, kind)
            if kind == "linear":
                linear = ours_rate
            post_rate = float("nan")
            if args.post and kind == "linear":
                post_rate = post(data[: args.post], args.dim, pairs)
            print(
                f"{kind:>12} {pairs:>9} {ours_rate:>19.0f} {flat:>22.0f}"
                f" {flat / ours_rate:>10.2f}x {linear / ours_rate:>11.2f}x {post_rate:>13.3f}",
                flush=True,
            )
    breakdown(data, args.dim, args.batch, flat)
    if args.overhead:
        overhead(args.overhead)


if __name__ == "__main__":
    main()
