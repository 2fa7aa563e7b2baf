"""Classifying time series with RAE features, beside the usual baselines, in one run.

The data ship inside the aeon wheel, so nothing is downloaded:

* JapaneseVowels (UEA): 12 LPC cepstrum coefficients a frame, 7-29 frames,
  9 speakers, 270 train / 370 test; each frame is a leaf;
* univariate UCR sets, each series cut into windows of 10 samples, each window
  a leaf (the last window ends at the series' end, overlapping the one before
  when the length is not a multiple of 10): ArrowHead, ItalyPowerDemand,
  OSULeaf, PickupGestureWiimoteZ (of unequal length).

Columns, test accuracy (mean and lowest over the seeds for the RAEs):

* mean pooling + logistic regression: the mean of the leaves, standardised;
* the unsupervised RAE: ``RAEEncoder(supervised=False)`` (its defaults
  otherwise), standardised features, logistic regression;
* ``RAEClassifier()``: every default (only ``random_state`` is set, to the seed);
  with ``--cv K``, ``cv=K`` as well (K cross-fitted RAEs; the default for
  series is one);
* MiniRocket: sktime's ``MiniRocketMultivariateVariable`` and a
  ``RidgeClassifierCV``, on the raw series (not windowed): the state of the art
  for its cost (its seconds after a warm-up fit: numba compiles its kernels
  once per install);
* seconds per fit of each, on this machine.

Then the scikit-learn examples of the README and of the user guide's time-series
page as printed (``StratifiedKFold(5, shuffle=True, random_state=0)`` over
JapaneseVowels' 270 training sequences, raw frames, ``random_state=0``), beside
mean pooling + logistic regression in the same folds.

    pip install ".[bench]"
    python bench/classify.py [--seeds 0 1 2] [--sets JapaneseVowels ...] [--cv K] [--quick]
    python bench/classify.py --sets     # the examples' check only
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from device import print_device  # noqa: E402

SETS = ("JapaneseVowels", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "PickupGestureWiimoteZ")
WINDOW = 10


def windows(series: np.ndarray, width: int = WINDOW) -> np.ndarray:
    """A univariate series as ``(windows, width)`` leaves; the last window ends at the end."""
    starts = list(range(0, len(series) - width + 1, width))
    if starts[-1] + width < len(series):
        starts.append(len(series) - width)
    return np.stack([series[i : i + width] for i in starts])


Data = tuple[list[np.ndarray], np.ndarray, list[np.ndarray], np.ndarray, list, list]


def load(name: str) -> Data:
    """Leaves (train, test), labels, and the raw (channels, time) series for MiniRocket."""
    try:
        import aeon
        from aeon.datasets import load_from_ts_file
    except ImportError as e:
        raise SystemExit('this benchmark needs aeon: pip install ".[bench]"') from e
    folder = os.path.join(os.path.dirname(aeon.__file__), "datasets", "data", name)
    out: list = []
    raws: list = []
    for split in ("TRAIN", "TEST"):
        x, y = load_from_ts_file(os.path.join(folder, f"{name}_{split}.ts"))
        series = [np.asarray(s, np.float64) for s in x]  # (channels, time)
        if series[0].shape[0] == 1:
            leaves = [windows(s[0]).astype(np.float32) for s in series]
        else:
            leaves = [s.T.astype(np.float32) for s in series]
        out += [leaves, np.asarray(y)]
        raws.append(series)
    return out[0], out[1], out[2], out[3], raws[0], raws[1]


def scaled_logistic() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))


def minirocket(raw_train: list, y: np.ndarray, raw_test: list, y_test: np.ndarray) -> tuple:
    import pandas as pd
    from sklearn.linear_model import RidgeClassifierCV
    from sktime.transformations.panel.rocket import MiniRocketMultivariateVariable

    def frames(series: list) -> list:
        return [pd.DataFrame(s.T) for s in series]

    shortest = min(s.shape[1] for s in raw_train + raw_test)
    rocket = MiniRocketMultivariateVariable(
        random_state=0, pad_value_short_series=0.0 if shortest < 9 else None
    )
    warnings.filterwarnings("ignore", message="X is (of equal length|univariate)")
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
    # numba compiles MiniRocket's kernels on their first call, once per
    # install (then cached): a warm-up fit keeps that out of the seconds
    MiniRocketMultivariateVariable(
        random_state=0, pad_value_short_series=0.0 if shortest < 9 else None
    ).fit_transform(frames(raw_train[:2]))
    t = time.perf_counter()
    ridge.fit(rocket.fit_transform(frames(raw_train)), y)
    seconds = time.perf_counter() - t
    return float(ridge.score(rocket.transform(frames(raw_test)), y_test)), seconds


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    p.add_argument("--quick", action="store_true", help="2 epochs, one seed, two sets")
    p.add_argument("--cv", type=int, help="RAEClassifier's cv (default: its own)")
    args = p.parse_args()
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder

    epochs = {}
    if args.quick:
        args.seeds, args.sets, epochs = [0], ["JapaneseVowels", "ItalyPowerDemand"], {"epochs": 2}
    print_device()
    print(f"seeds {args.seeds}; test accuracy: RAE columns mean (lowest); seconds a fit\n")
    cv = {} if args.cv is None else {"cv": args.cv}
    shown = "RAEClassifier()" if args.cv is None else f"RAEClassifier(cv={args.cv})"
    head = (
        f"{'data set':<22} {'train/test':>9} {'mean pool':>9} {'unsup RAE':>14}"
        f" {shown:>16} {'MiniRocket':>10}   seconds: pool / unsup / RAEC / MiniR"
    )
    print(head)
    for name in args.sets:
        x, y, xt, yt, raw, raw_test = load(name)

        def pooled(s: list[np.ndarray]) -> np.ndarray:
            return np.stack([a.mean(axis=0) for a in s])

        t = time.perf_counter()
        pool = scaled_logistic().fit(pooled(x), y)
        pool_s = time.perf_counter() - t
        pool_acc = float(pool.score(pooled(xt), yt))
        unsup, semi, unsup_s, semi_s = [], [], [], []
        for seed in args.seeds:
            t = time.perf_counter()
            enc = RAEEncoder(supervised=False, random_state=seed, **epochs).fit(x)
            lr = scaled_logistic().fit(enc.transform(x), y)
            unsup_s.append(time.perf_counter() - t)
            unsup.append(float(lr.score(enc.transform(xt), yt)))
            t = time.perf_counter()
            clf = RAEClassifier(random_state=seed, **epochs, **cv).fit(x, y)
            semi_s.append(time.perf_counter() - t)
            semi.append(float(clf.score(xt, yt)))
        rocket, rocket_s = minirocket(raw, y, raw_test, yt)
        print(
            f"{name:<22} {len(x):>4}/{len(xt):<4} {pool_acc:>9.3f}"
            f" {np.mean(unsup):>6.3f} ({min(unsup):.3f}) {np.mean(semi):>8.3f} ({min(semi):.3f})"
            f" {rocket:>10.3f}   {pool_s:.2f} / {np.mean(unsup_s):.1f} / {np.mean(semi_s):.1f}"
            f" / {rocket_s:.1f}",
            flush=True,
        )
    readme_examples(epochs)


def readme_examples(epochs: dict[str, int]) -> None:
    """The README's and the guide's examples, as printed, beside mean pooling in the
    same folds."""
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    _, y, _, _, raw, _ = load("JapaneseVowels")
    sequences = [s.T for s in raw]  # raw frames
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    pool = FunctionTransformer(lambda s: np.stack([a.mean(axis=0) for a in s]))
    rows = [
        ("mean pooling + LogisticRegression()", make_pipeline(pool, LogisticRegression())),
        (
            "mean pooling + StandardScaler() + LogisticRegression()",
            make_pipeline(pool, StandardScaler(), LogisticRegression()),
        ),
        ("RAEClassifier(random_state=0)", RAEClassifier(random_state=0, **epochs)),
        (
            "RAEEncoder(random_state=0) + StandardScaler() + LogisticRegression()",
            make_pipeline(
                RAEEncoder(random_state=0, **epochs), StandardScaler(), LogisticRegression()
            ),
        ),
    ]
    print("\nThe examples, JapaneseVowels train (270, raw frames), 5-fold cross_val_score:")
    for name, model in rows:
        t = time.perf_counter()
        scores = cross_val_score(model, sequences, y, cv=folds)
        print(f"  {name:<70} {scores.mean():.3f}  ({time.perf_counter() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
