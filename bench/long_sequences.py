"""Long sequences with the native engine, each case beside its peer, same run.

* all pairs, d=32: ours against ``fastcluster.linkage(X, method="centroid")``
  on the same points, best of two runs each (Muellner's generic algorithm over the full distance
  matrix), for the post's linear network and for Socher's (tanh, unit-length
  parent, linear decoder: ``merge_network(d, "tanh", True)``), whose decoder
  costs O(d^2) a pair where the linear network's pair costs O(d);
* all pairs, n=100,000, d=32: time and peak memory of ours (a child process);
* adjacent, d=64, n=1,000,000: ours against the floor, one flat batched numpy
  pass (float32, BLAS) over as many evaluations of the same network as the
  build scores (about 3n), for both networks.

    pip install ".[bench]"
    python bench/long_sequences.py [--all 1000 3000 10000 20000] [--socher-all 1000 3000 10000]
        [--big 100000] [--adjacent 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from device import print_device  # noqa: E402

NETWORKS = {"linear": {}, "socher": {"activation": "tanh", "normalize": True}}


def network(dim: int, seed: int = 0, kind: str = "linear"):
    import greedy_rae as gr
    import keras

    keras.utils.set_random_seed(seed)
    return gr.merge_network(dim, **NETWORKS[kind])


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def all_pairs(sizes: list[int], dim: int = 32, kind: str = "linear") -> None:
    import fastcluster
    import greedy_rae as gr

    net = network(dim, kind=kind)
    print(f"\nall pairs, {kind} network, d={dim}")
    header = ("n", "greedy_rae (s)", "fastcluster (s)", "ratio", "rescored/scored")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (7, 15, 16, 7, 16))))
    for n in sizes:
        x = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32)
        # best of two for each, alternating (the machine may be shared)
        ours = peer = float("inf")
        for _ in range(2):
            t, tree = timed(lambda x=x: gr.greedy_tree(x, net, "all", scorer="native"))
            ours = min(ours, t)
            t, _ = timed(lambda x=x: fastcluster.linkage(x.astype(np.float64), method="centroid"))
            peer = min(peer, t)
        extra = tree.stats["pairs_rescored"] / tree.stats["pairs_scored"]
        print(f"{n:>7} {ours:>15.3f} {peer:>16.3f} {ours / peer:>7.2f} {extra:>16.3f}", flush=True)


def big_child(n: int, dim: int) -> None:
    import greedy_rae as gr

    net = network(dim)
    x = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, tree = timed(lambda: gr.greedy_tree(x, net, "all", scorer="native"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{n:>7} {seconds:>10.1f} s   peak RSS {peak / 2**20:.2f} GiB"
        f" (TensorFlow and inputs loaded: {before / 2**20:.2f} GiB)   root score {tree.score:.4g}"
    )


def big(n: int, dim: int = 32) -> None:
    print(
        f"\nall pairs, n={n}, d={dim}: goal peak memory <= 2 GiB (an n x n matrix: "
        f"{n * n * 8 / 2**30:.0f} GiB)",
        flush=True,
    )
    subprocess.run([sys.executable, __file__, "--child-big", str(n), str(dim)], check=True)


def adjacent(n: int, dim: int = 64, kind: str = "linear") -> None:
    import greedy_rae as gr

    net = network(dim, kind=kind)
    x = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32)
    ours, tree = timed(lambda: gr.greedy_tree(x, net, "adjacent", scorer="native"))
    evals = tree.stats["pairs_scored"]
    w1, b1, w2, b2 = (w.numpy() for w in net.weights)
    socher = kind == "socher"

    def floor() -> None:
        rng = np.random.default_rng(1)
        chunk = 1 << 16
        c = rng.normal(size=(chunk, 2 * dim)).astype(np.float32)
        for s in range(0, evals, chunk):
            cc = c[: min(chunk, evals - s)]
            h = cc @ w1 + b1
            if socher:
                h = np.tanh(h)
                h /= np.linalg.norm(h, axis=1, keepdims=True)
            y = h @ w2 + b2
            np.square(y - cc).sum(axis=1)

    peer, _ = timed(floor)
    print(f"\nadjacent, {kind} network, d={dim}, n={n}: {evals} pairs scored ({evals / n:.2f} n)")
    print(f"  greedy_rae {ours:.2f} s   numpy floor {peer:.2f} s   ratio {ours / peer:.2f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-big":
        big_child(int(sys.argv[2]), int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--all", type=int, nargs="*", default=[1000, 3000, 10000, 20000])
    p.add_argument("--socher-all", type=int, nargs="*", default=[1000, 3000, 10000])
    p.add_argument("--big", type=int, nargs="*", default=[100000])
    p.add_argument("--adjacent", type=int, nargs="*", default=[1000000])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.all, args.socher_all, args.big, args.adjacent = [500], [300], [2000], [20000]
    print_device()
    if args.all:
        all_pairs(args.all)
    if args.socher_all:
        all_pairs(args.socher_all, kind="socher")
    for n in args.big:
        big(n)
    for n in args.adjacent:
        adjacent(n)
        adjacent(n, kind="socher")


if __name__ == "__main__":
    main()
