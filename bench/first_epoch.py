"""The first epoch against the later ones: what tracing the replay costs.

2,048 sequences of width 64, minibatches of 256, the post's linear network,
one ``fit(epochs=1)`` call an epoch on a fresh RAE: the first epoch (which
traces and compiles the replay for each new depth bucket) beside the best of
the later ones, in the same run, for three shapes of data: 20 leaves with
adjacent pairs, and lengths 3-80 (the shape of sentences) with adjacent and
with all pairs. Goal: the first epoch at most 1.5x a later one.

    python bench/first_epoch.py [--epochs 4] [--quick]
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


def epochs(
    lengths: np.ndarray, pairs: str, dim: int, batch: int, count: int
) -> tuple[list[float], int]:
    """Seconds of each epoch, and the most levels of a tree after training."""
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), dim)).astype(np.float32) for n in lengths]
    keras.utils.set_random_seed(0)
    rae = gr.RAE(dim, pairs=pairs)
    times = []
    for e in range(count):
        t = time.perf_counter()
        rae.fit(seqs, epochs=1, batch_size=batch, verbose=0, seed=e)
        times.append(time.perf_counter() - t)
    return times, max(levels(tree) for tree in rae.trees(seqs))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--epochs", type=int, default=4, help="epochs a run (the first + later)")
    p.add_argument("--quick", action="store_true", help="256 sequences, 2 epochs: a smoke run")
    args = p.parse_args()
    sequences, dim, batch = (256, 16, 64) if args.quick else (2048, 64, 256)
    if args.quick:
        args.epochs = 2
    print_device()
    rng = np.random.default_rng(1)
    print(f"{sequences} sequences, width {dim}, minibatches of {batch}, linear network")
    print(
        f"{'data':<24} {'first epoch (s)':>16} {'later (s)':>10} {'ratio (goal <= 1.5)':>20}"
        f" {'deepest tree (levels)':>22}"
    )
    for name, lengths, pairs in [
        ("20 leaves, adjacent", np.full(sequences, 20), "adjacent"),
        ("3-80 leaves, adjacent", rng.integers(3, 81, sequences), "adjacent"),
        ("3-80 leaves, all pairs", rng.integers(3, 81, sequences), "all"),
    ]:
        t, deepest = epochs(lengths, pairs, dim, batch, args.epochs)
        later = min(t[1:])
        print(
            f"{name:<24} {t[0]:>16.2f} {later:>10.3f} {t[0] / later:>19.2f}x {deepest:>22}",
            flush=True,
        )


if __name__ == "__main__":
    main()
