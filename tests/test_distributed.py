"""Data-parallel training with tf.distribute, against one device in the same run.

Each strategy runs in child processes (tests/distributed_worker.py): logical
devices and clusters must be set before TensorFlow starts.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
WORKER = os.path.join(HERE, "distributed_worker.py")

# worker processes that import TensorFlow each: the slow part of the suite
pytestmark = pytest.mark.slow


def env(**extra):
    out = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    out.pop("TF_CONFIG", None)
    out.update(extra)
    return out


def free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def weights_of(z, prefix):
    """The arrays named prefix0, prefix1, ... in order."""
    count = sum(1 for k in z.files if k.startswith(prefix) and k[len(prefix) :].isdigit())
    return [z[f"{prefix}{k}"] for k in range(count)]


@pytest.mark.parametrize("text", [False, True])
def test_mirrored_strategy_equals_one_device(tmp_path, text):
    out = tmp_path / "mirrored.npz"
    mode = "mirrored-text" if text else "mirrored"
    r = subprocess.run(
        [sys.executable, WORKER, mode, str(out)], env=env(), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    z = np.load(out)
    assert int(z["replicas"]) == 2
    np.testing.assert_allclose(z["multi_loss"], z["single_loss"], rtol=1e-5)
    single, multi = weights_of(z, "single_"), weights_of(z, "multi_")
    # network and label head (and a text RAE's word table, sparse updates included)
    count = 7 if text else 6
    assert len(single) == len(multi) == count
    for a, b in zip(single, multi):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    if text:  # the table moved, and its rows moved alike
        assert np.abs(single[-1]).max() > 0.005
    for k in range(count):
        a, b = z[f"single_grad_{k}"], z[f"multi_grad_{k}"]
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6 * np.abs(a).max())


def run_workers(tmp_path, name, extra_args=(), mode="multiworker"):
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for k in range(2):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": k}})
        out = str(tmp_path / f"{name}{k}.npz")
        procs.append(
            subprocess.Popen(
                [sys.executable, WORKER, mode, out, *extra_args],
                env=env(TF_CONFIG=config),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    return [np.load(tmp_path / f"{name}{k}.npz") for k in range(2)]


def single_device(epochs, text=False):
    sys.path.insert(0, HERE)
    import distributed_worker as w

    seqs, labels = w.data()
    if text:
        seqs, labels = w.TEXTS * 3, np.resize(labels, len(w.TEXTS) * 3)
    rae = w.make(text=text)
    fit = dict(labels=labels, batch_size=6, verbose=0, seed=1, validation_data=(seqs, labels))
    h = rae.fit(seqs, epochs=epochs, **fit)
    return h["loss"], w.weights(rae), rae.encode(seqs, features="root+mean")


@pytest.mark.parametrize("text", [False, True])
def test_multi_worker_strategy_equals_one_device(tmp_path, text):
    results = run_workers(tmp_path, "w", mode="multiworker-text" if text else "multiworker")
    loss, want, features = single_device(3, text)
    for z in results:
        assert int(z["replicas"]) == 2
        # encode split across the workers, the whole result on each
        np.testing.assert_allclose(z["encode"], features, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(z["multi_loss"], loss, rtol=1e-5)
        got = weights_of(z, "multi_")
        assert len(got) == len(want)
        for a, b in zip(want, got):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_multi_worker_resume_equals_uninterrupted(tmp_path):
    ckpt = tmp_path / "ckpt"
    run_workers(tmp_path, "first", (str(ckpt), "2"))
    assert sorted(os.listdir(ckpt)) == ["checkpoint.npz"]  # the chief alone writes
    results = run_workers(tmp_path, "second", (str(ckpt), "4"))
    loss, want, _ = single_device(4)
    for z in results:
        np.testing.assert_allclose(z["multi_loss"], loss, rtol=1e-5)
        for a, b in zip(want, weights_of(z, "multi_")):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_strategy_is_taken_from_the_scope():
    import greedy_rae as gr
    import keras
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        rae = gr.RAE(3)
    assert rae.strategy is strategy
    keras.utils.set_random_seed(0)
    plain = gr.RAE(3)
    assert plain.strategy is None
    seqs = [np.random.default_rng(k).normal(size=(k + 2, 3)).astype(np.float32) for k in range(6)]
    ha = rae.fit(seqs, epochs=2, batch_size=4, verbose=0, seed=0)
    hb = plain.fit(seqs, epochs=2, batch_size=4, verbose=0, seed=0)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-5)
    for a, b in zip(rae.network.get_weights(), plain.network.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
