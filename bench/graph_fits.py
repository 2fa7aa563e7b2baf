"""Many fits in one process: what the graph replay keeps and what it traces again.

A hyperparameter search fits fresh RAEs of one configuration again and again.
Two measures, each for ``replay="graph"`` beside ``replay="numpy"`` (which
compiles nothing) in the same run:

* memory: ``--fits`` fresh ``RAE(12, activation="tanh", normalize=True,
  pairs="adjacent", classes=3)`` each fit on the same 200 sequences (3 epochs,
  minibatches of 32) and ``encode``, then deleted and garbage-collected; the
  resident memory after each, and its slope (MB a fit) after the fifth (goal
  for the graph: at most 2 MB a fit);
* start-up: a fit of 20 epochs over 270 sequences (widths 12, lengths 7-29, as
  JapaneseVowels) by a new RAE of a configuration already fitted in this
  process, best of ``--repeats`` (goal: the graph at most 1.5x the numpy
  replay's time).

It also counts TensorFlow's retracing warnings over the whole run, and over
builds with ``scorer="tf"`` on sequences of many lengths (goal: none).

    python bench/graph_fits.py [--fits 20] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import greedy_rae as gr  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from device import print_device  # noqa: E402


class Retraces(logging.Handler):
    """Counts TensorFlow's retracing warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retracing" in record.getMessage():
            self.count += 1


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def data(count: int, lo: int, hi: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(n), 12)).astype(np.float32) for n in rng.integers(lo, hi, count)]
    return seqs, rng.integers(0, 3, count)


def make(replay: str) -> gr.RAE:
    return gr.RAE(
        12, activation="tanh", normalize=True, pairs="adjacent", classes=3, replay=replay,
        optimizer=keras.optimizers.Adam(0.01),
    )  # fmt: skip


def memory(replay: str, fits: int) -> list[float]:
    seqs, y = data(200, 5, 30, 0)
    out = []
    for _ in range(fits):
        rae = make(replay)
        rae.fit(seqs, labels=y, epochs=3, batch_size=32, verbose=0, seed=0)
        rae.encode(seqs)
        del rae
        gc.collect()
        out.append(rss_mb())
    return out


def slope(values: list[float], skip: int = 5) -> float:
    tail = values[skip:] if len(values) > skip + 1 else values
    return float(np.polyfit(np.arange(len(tail)), tail, 1)[0]) if len(tail) > 1 else 0.0


def second_fit(replay: str, repeats: int, epochs: int) -> float:
    seqs, y = data(270, 7, 30, 1)
    # the configuration's first fit, on the same data
    make(replay).fit(seqs, labels=y, epochs=epochs, batch_size=32, verbose=0, seed=0)
    best = float("inf")
    for _ in range(repeats):
        rae = make(replay)
        t = time.perf_counter()
        rae.fit(seqs, labels=y, epochs=epochs, batch_size=32, verbose=0, seed=0)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--fits", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="8 fits, 1 repeat, 5 epochs")
    args = p.parse_args()
    epochs = 20
    if args.quick:
        args.fits, args.repeats, epochs = 8, 1, 5
    print_device()
    retraces = Retraces()
    logging.getLogger("tensorflow").addHandler(retraces)

    print(f"\nmemory: {args.fits} fresh fits in one process, RSS after each (MB)")
    slopes = {}
    for replay in ("graph", "numpy"):
        rss = memory(replay, args.fits)
        slopes[replay] = slope(rss)
        shown = " ".join(f"{v:.0f}" for v in rss)
        print(f"  {replay:<6} {shown}")
        print(f"  {replay:<6} slope after the fifth fit: {slopes[replay]:.2f} MB a fit")
    print(f"  graph: {slopes['graph']:.2f} MB a fit (goal <= 2)")

    print(f"\nstart-up: a new RAE of a configuration already fitted, {epochs} epochs, 270 seqs")
    seconds = {replay: second_fit(replay, args.repeats, epochs) for replay in ("graph", "numpy")}
    ratio = seconds["graph"] / seconds["numpy"]
    print(f"  graph {seconds['graph']:.2f} s, numpy {seconds['numpy']:.2f} s:"
          f" {ratio:.2f}x (goal <= 1.5)")  # fmt: skip

    rng = np.random.default_rng(2)
    for n in range(2, 40, 3):  # a fresh network for every length
        net = gr.merge_network(6, "tanh", True)
        gr.greedy_tree(rng.normal(size=(n, 6)).astype(np.float32), net, "all", scorer="tf")
    for replay in ("graph",):
        rae = make(replay)
        for n in (3, 9, 17, 33, 65):
            seqs, y = data(16, n, n + 1, n)
            rae.fit(seqs, labels=y, epochs=1, verbose=0)
    print(f"\nTensorFlow's retracing warnings over the run: {retraces.count} (goal 0)")


if __name__ == "__main__":
    main()
