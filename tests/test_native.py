"""The native engine: batches on threads, progress, Ctrl-C, agreement with TF."""

import os
import signal
import threading
import time

import greedy_rae as gr
import numpy as np
import pytest
from greedy_rae.build import build_trees


def test_batch_on_threads_matches_one_by_one(random_network):
    m = random_network(8, seed=2)
    rng = np.random.default_rng(2)
    seqs = [rng.normal(size=(n, 8)).astype(np.float32) for n in (1, 2, 50, 300, 7, 120)]
    for pairs in ("all", "adjacent"):
        batch = build_trees(seqs, m, pairs, "native", threads=2)
        tf_batch = build_trees(seqs, m, pairs, "tf")
        for s, a, b in zip(seqs, batch, tf_batch):
            one = gr.greedy_tree(s, m, pairs, scorer="native")
            np.testing.assert_array_equal(a.merges, one.merges)
            np.testing.assert_array_equal(a.embeddings, one.embeddings)
            np.testing.assert_array_equal(a.merges, b.merges)
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_tiny_errors_next_to_large_norms(random_network):
    # h = a and y = [h; h]: the error of (a, b) is |a - b|^2 / 2, about 1e-6,
    # while |U|^2 / 2 and |V|^2 / 2 are about 2e6, so the expanded form
    # cancels completely; the scorer must fall back to the direct sum.
    m = random_network(4, seed=4)
    eye = np.eye(4, dtype=np.float32)
    w1 = np.vstack([eye, np.zeros((4, 4), np.float32)])
    w2 = np.hstack([eye, eye])
    m.set_weights([w1, np.zeros(4, np.float32), w2, np.zeros(8, np.float32)])
    x = (1e3 + np.random.default_rng(4).normal(scale=1e-3, size=(40, 4))).astype(np.float32)
    a = gr.greedy_tree(x, m, scorer="native")
    b = gr.greedy_tree(x, m, scorer="tf")
    np.testing.assert_array_equal(a.merges, b.merges)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4)
    first = x[a.merges[0, 0]].astype(np.float64) - x[a.merges[0, 1]]
    assert a.scores[0] == pytest.approx(0.5 * np.sum(first**2), rel=1e-6)


def test_nonlinear_batch_on_threads_matches_one_by_one():
    import keras

    keras.utils.set_random_seed(3)
    net = gr.merge_network(8, "tanh", True, "tanh")
    rng = np.random.default_rng(3)
    seqs = [rng.normal(size=(n, 8)).astype(np.float32) for n in (1, 2, 50, 400, 7, 120)]
    for pairs in ("all", "adjacent"):
        for rec in ("plain", "weighted"):
            batch = build_trees(seqs, net, pairs, "native", threads=2, reconstruction=rec)
            for s, a in zip(seqs, batch):
                one = build_trees([s], net, pairs, "native", threads=1, reconstruction=rec)[0]
                np.testing.assert_array_equal(a.merges, one.merges)
                np.testing.assert_array_equal(a.scores, one.scores)
                np.testing.assert_array_equal(a.embeddings, one.embeddings)


@pytest.mark.parametrize("options", [{}, {"activation": "tanh", "normalize": True}])
def test_progress_bar(capsys, options):
    net = gr.merge_network(16, **options)
    x = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
    gr.greedy_tree(x, net, scorer="native", progress=True)
    out = capsys.readouterr().out
    assert "2999/2999" in out


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"activation": "tanh", "normalize": True}])
def test_ctrl_c_interrupts_a_long_build(options):
    net = gr.merge_network(32, **options)
    x = np.random.default_rng(0).normal(size=(60000, 32)).astype(np.float32)
    sent = []

    def interrupt():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    # Ctrl-C reaches a foreground process, where Python's handler raises
    # KeyboardInterrupt. A job started in the background (`cmd &` from a
    # script) inherits SIGINT ignored, and Python leaves it so: there the
    # signal is dropped by design, so the test puts the foreground's handler in.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, interrupt)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            gr.greedy_tree(x, net, scorer="native")
        assert time.perf_counter() - sent[0] < 2.0
        timer.join()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    # the engine is usable again afterwards
    assert gr.greedy_tree(x[:10], net).n == 10


def test_forest_rejects_a_tree_index_out_of_range():
    from greedy_rae import _core

    forest = _core.Forest([3, 4], "all")
    for name in ("merges", "scores", "offset", "pairs_scored"):
        with pytest.raises(IndexError, match="tree 99 is out of range: the forest has 2 trees"):
            getattr(forest, name)(99)
        with pytest.raises(IndexError):
            getattr(forest, name)(-1)
    assert forest.offset(1) == 5  # 2 * 3 - 1 ids before the second tree
