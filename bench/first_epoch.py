"""The first epoch against the later ones: what compiling the replay costs.

2,048 sequences of width 64, minibatches of 256 (8 steps an epoch), the
post's linear network, for three shapes of data: 20 leaves with adjacent
pairs, and lengths 3-80 (the shape of sentences) with adjacent and with all
pairs. Each shape is trained by one ``fit(epochs=4)`` on a fresh RAE, each
epoch timed by a Keras callback, twice: with the default ``replay="auto"``
(the numpy pass: nothing to compile) and with ``replay="graph"`` (the graph
pass, compiled on its first steps), three times alternating. Printed: the
best first epoch of each beside its best later one (goal: at most 1.5x), and
the later epochs of the two side by side (goal: the numpy pass no slower
than the graph at steady state).

    python bench/first_epoch.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import greedy_rae as gr  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from device import print_device  # noqa: E402


def levels(tree: gr.Tree) -> int:
    """The tree's height: a merge is one level above its deeper child."""
    height = [0] * tree.n
    for a, b in tree.merges:
        height.append(1 + max(height[a], height[b]))
    return height[-1]


class EpochTimes(keras.callbacks.Callback):
    """The seconds of each epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: object = None) -> None:
        self.times.append(time.perf_counter() - self.start)


def epochs(
    seqs: list[np.ndarray], pairs: str, dim: int, batch: int, count: int, replay: str
) -> tuple[list[float], int]:
    """Seconds of each epoch of one fit on a fresh RAE, and its deepest tree after."""
    keras.utils.set_random_seed(0)
    rae = gr.RAE(dim, pairs=pairs, replay=replay)
    timer = EpochTimes()
    rae.fit(seqs, epochs=count, batch_size=batch, verbose=0, seed=0, callbacks=[timer])
    return timer.times, max(levels(tree) for tree in rae.trees(seqs))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeats", type=int, default=3, help="fits of each kind, alternating")
    p.add_argument("--quick", action="store_true", help="256 sequences, one repeat: a smoke run")
    args = p.parse_args()
    sequences, dim, batch = (256, 16, 64) if args.quick else (2048, 64, 256)
    if args.quick:
        args.repeats = 1
    count = 4
    print_device()
    rng = np.random.default_rng(1)
    print(f"{sequences} sequences, width {dim}, minibatches of {batch}, linear network")
    print(
        f"{'data':<24} {'replay':<6} {'first epoch (s)':>16} {'later (s)':>10}"
        f" {'ratio (goal <= 1.5)':>20} {'deepest tree':>13}"
    )
    for name, lengths, pairs in [
        ("20 leaves, adjacent", np.full(sequences, 20), "adjacent"),
        ("3-80 leaves, adjacent", rng.integers(3, 81, sequences), "adjacent"),
        ("3-80 leaves, all pairs", rng.integers(3, 81, sequences), "all"),
    ]:
        data = np.random.default_rng(0)
        seqs = [data.normal(size=(int(n), dim)).astype(np.float32) for n in lengths]
        first: dict[str, float] = {}
        later: dict[str, float] = {}
        for _ in range(args.repeats):  # alternating, best of the repeats
            for replay in ("auto", "graph"):
                t, deepest = epochs(seqs, pairs, dim, batch, count, replay)
                first[replay] = min(first.get(replay, np.inf), t[0])
                later[replay] = min(later.get(replay, np.inf), *t[1:])
        for replay in ("auto", "graph"):
            print(
                f"{name:<24} {replay:<6} {first[replay]:>16.2f} {later[replay]:>10.3f}"
                f" {first[replay] / later[replay]:>19.2f}x {deepest:>13}",
                flush=True,
            )
        print(f"{'':<24} later epochs, auto / graph: {later['auto'] / later['graph']:.2f}x")


if __name__ == "__main__":
    main()
