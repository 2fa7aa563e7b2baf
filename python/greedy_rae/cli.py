"""Command line: ``greedy-rae demo``."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def post_example() -> np.ndarray:
    """The original post's leaves: ``ones(10) * i`` for ``i`` in 0..9, twice."""
    one = [np.ones(10, dtype=np.float32) * i for i in range(10)]
    return np.stack(one + one)


def demo(steps: int, pairs: str, seed: int) -> int:
    import keras

    import greedy_rae as gr

    keras.utils.set_random_seed(seed)
    leaves = post_example()
    rae = gr.RAE(leaves.shape[1], pairs=pairs)
    print(
        f"Training on the post's example: {len(leaves)} leaves of width {leaves.shape[1]},"
        f" pairs={pairs!r}, {steps} Adam steps"
    )
    for step in range(steps):
        loss = rae.fit([leaves], epochs=1, batch_size=1, verbose=0)["loss"][0]
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step + 1:4d}  root score {loss:.4f}")
    tree = rae.trees([leaves])[0]
    print(f"\nFinal tree (root score {tree.score:.4f}):")
    print(tree)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="greedy-rae", description="Greedy recursive autoencoders."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train on the original post's example and print the tree")
    p.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    p.add_argument("--pairs", choices=["all", "adjacent"], default="all")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return demo(args.steps, args.pairs, args.seed)


if __name__ == "__main__":
    sys.exit(main())
