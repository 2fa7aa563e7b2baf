"""Data-parallel training across local worker processes, against one worker.

Starts N worker processes on this machine with ``TF_CONFIG`` naming localhost
ports, each training the same RAE under ``tf.distribute.MultiWorkerMirroredStrategy``
(each builds the trees of its share of every global minibatch natively and
replays them; gradients are all-reduced before one Adam step), and one plain
process training alone, in the same run; prints sequences per second of one
epoch (after a warm-up epoch) for both. On several machines, run the worker
part on each with its own ``TF_CONFIG`` (see the README).

    python bench/distributed.py [--workers 2] [--sequences 2048] [--leaves 20] [--dim 64] [--quick]
        [--batch 256] [--pairs all]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

from device import print_device  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def train(args: argparse.Namespace) -> None:
    """One process's part: two epochs, the second timed; prints its rate."""
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy() if "TF_CONFIG" in os.environ else None
    import greedy_rae as gr
    import keras

    rng = np.random.default_rng(0)
    data = [
        rng.normal(size=(args.leaves, args.dim)).astype(np.float32) for _ in range(args.sequences)
    ]
    keras.utils.set_random_seed(0)
    if strategy is None:
        rae = gr.RAE(args.dim, pairs=args.pairs)
    else:
        with strategy.scope():
            rae = gr.RAE(args.dim, pairs=args.pairs)
    rae.fit(data, epochs=1, batch_size=args.batch, verbose=0, seed=0)  # traces, warms up
    t = time.perf_counter()
    hist = rae.fit(data, epochs=1, batch_size=args.batch, verbose=0, seed=1)
    seconds = time.perf_counter() - t
    print(json.dumps({"rate": len(data) / seconds, "loss": hist["loss"][-1]}), flush=True)


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def launch(args: argparse.Namespace, workers: int) -> list[dict[str, float]]:
    env = dict(os.environ)
    env.pop("TF_CONFIG", None)
    child = [sys.executable, __file__, "--child"] + [
        f"--{k.replace('_', '-')}={v}"
        for k, v in vars(args).items()
        if k not in ("workers", "child", "quick")
    ]
    procs = []
    ports = free_ports(workers)
    for k in range(workers):
        if workers > 1:
            cluster = {"worker": [f"localhost:{p}" for p in ports]}
            env["TF_CONFIG"] = json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": k}}
            )
        procs.append(subprocess.Popen(child, env=dict(env), stdout=subprocess.PIPE, text=True))
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"a worker failed with status {p.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sequences", type=int, default=2048)
    p.add_argument("--leaves", type=int, default=20)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch", type=int, default=256, help="global minibatch")
    p.add_argument("--pairs", choices=["all", "adjacent"], default="all")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="few short sequences: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.sequences, args.leaves, args.dim, args.batch = 64, 6, 8, 32
    print_device()
    if args.child:
        train(args)
        return
    print(
        f"{args.sequences} sequences x {args.leaves} leaves, width {args.dim}, global batch"
        f" {args.batch}, pairs={args.pairs!r}, on {os.cpu_count()} CPUs"
    )
    one = launch(args, 1)[0]
    many = launch(args, args.workers)
    rate = min(r["rate"] for r in many)  # the cluster moves at its slowest worker
    print(f"{'setting':<22} {'seq/s':>9} {'final loss':>11}")
    print(f"{'1 worker':<22} {one['rate']:>9.0f} {one['loss']:>11.4f}")
    print(f"{f'{args.workers} local workers':<22} {rate:>9.0f} {many[0]['loss']:>11.4f}")
    print(f"speed-up: {rate / one['rate']:.2f}x")


if __name__ == "__main__":
    main()
