"""Classifying real sequences with RAE features: JapaneseVowels, in one run.

JapaneseVowels (UCI / UEA archive): 12 LPC cepstrum coefficients per frame,
7-29 frames per utterance, 9 speakers, 270 train / 370 test. The data ship
inside the aeon wheel, so nothing is downloaded. Frames are standardised with
the training set's per-channel mean and deviation. A table of test accuracies:

* logistic regression on the mean of the leaves (mean pooling, the baseline);
* logistic regression on unsupervised RAE features (root and mean of all
  nodes side by side);
* logistic regression on semi-supervised RAE features (label head trained with
  the reconstruction, alpha weighting the reconstruction);
* the label head's own ``predict`` (at the root).

The RAE is Socher et al.'s: tanh, unit-length parent, linear decoder,
weighted reconstruction, adjacent pairs, Adam(0.01), minibatches of 32.

    pip install ".[bench]"
    python bench/classify.py [--epochs 200] [--alpha 0.1] [--seeds 0 1 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from device import print_device  # noqa: E402


def japanese_vowels() -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], np.ndarray]:
    try:
        import aeon
        from aeon.datasets import load_from_ts_file
    except ImportError as e:
        raise SystemExit('this benchmark needs aeon: pip install ".[bench]"') from e
    folder = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", "JapaneseVowels")

    def split(name: str) -> tuple[list[np.ndarray], np.ndarray]:
        x, y = load_from_ts_file(os.path.join(folder, f"JapaneseVowels_{name}.ts"))
        return [np.asarray(s, np.float32).T for s in x], np.asarray(y).astype(int) - 1

    x_train, y_train = split("TRAIN")
    x_test, y_test = split("TEST")
    frames = np.concatenate(x_train)
    mean, std = frames.mean(axis=0), frames.std(axis=0)

    def scale(xs: list[np.ndarray]) -> list[np.ndarray]:
        return [((s - mean) / std).astype(np.float32) for s in xs]

    return scale(x_train), y_train, scale(x_test), y_test


def logistic(train: np.ndarray, y: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
    model.fit(train, y)
    return float(model.score(test, y_test))


def rae_run(
    x: list[np.ndarray],
    y: np.ndarray,
    x_test: list[np.ndarray],
    y_test: np.ndarray,
    seed: int,
    epochs: int,
    supervised: bool,
    alpha: float,
) -> tuple[float, float]:
    import greedy_rae as gr
    import keras

    keras.utils.set_random_seed(seed)
    rae = gr.RAE(
        x[0].shape[1],
        pairs="adjacent",
        activation="tanh",
        normalize=True,
        reconstruction="weighted",
        classes=9 if supervised else None,
        alpha=alpha,
        optimizer=keras.optimizers.Adam(0.01),
    )
    rae.fit(x, labels=y if supervised else None, epochs=epochs, batch_size=32, verbose=0, seed=seed)
    features = logistic(
        rae.encode(x, features="root+mean"), y, rae.encode(x_test, features="root+mean"), y_test
    )
    head = float(np.mean(rae.predict(x_test) == y_test)) if supervised else float("nan")
    return features, head


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--alpha", type=float, default=0.1, help="weight of the reconstruction")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true", help="2 epochs, one seed: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.seeds = 2, [0]
    print_device()
    x, y, x_test, y_test = japanese_vowels()
    print(
        f"JapaneseVowels: {len(x)} train / {len(x_test)} test, width {x[0].shape[1]},"
        f" {min(map(len, x + x_test))}-{max(map(len, x + x_test))} frames; {args.epochs} epochs,"
        f" alpha {args.alpha}, seeds {args.seeds}"
    )
    pool = logistic(
        np.stack([s.mean(axis=0) for s in x]), y, np.stack([s.mean(axis=0) for s in x_test]), y_test
    )
    rows = [("logistic regression, mean of the leaves", [pool])]
    unsup, semi, head = [], [], []
    t = time.perf_counter()
    for seed in args.seeds:
        unsup.append(rae_run(x, y, x_test, y_test, seed, args.epochs, False, args.alpha)[0])
        f, h = rae_run(x, y, x_test, y_test, seed, args.epochs, True, args.alpha)
        semi.append(f)
        head.append(h)
    rows += [
        ("logistic regression, unsupervised RAE (root+mean)", unsup),
        ("logistic regression, semi-supervised RAE (root+mean)", semi),
        ("semi-supervised RAE's label head (predict)", head),
    ]
    print(f"{'test accuracy':<54} {'mean':>6} {'min':>6} {'max':>6}")
    for name, acc in rows:
        print(f"{name:<54} {np.mean(acc):>6.3f} {np.min(acc):>6.3f} {np.max(acc):>6.3f}")
    print(f"(RAE training and encoding: {time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
