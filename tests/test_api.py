"""Public API: tree exports, save/load, bad input, command line, training."""

import os
import subprocess
import sys

import greedy_rae as gr
import numpy as np
import pytest
from greedy_rae.cli import post_example
from scipy.cluster.hierarchy import is_valid_linkage
from seed_reference import merge_encoder, reference_train


def leaves(n, dim=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_linkage_and_print():
    net = gr.merge_network(4)
    tree = gr.greedy_tree(leaves(9), net)
    z = tree.to_linkage()
    assert z.shape == (8, 4) and z.dtype == np.float64
    assert is_valid_linkage(z)
    assert z[-1, 3] == 9
    np.testing.assert_array_equal(z[:, :2], tree.merges)
    # a merged pair's score is never below the one merged before it
    assert np.all(np.diff(z[:, 2]) >= 0)
    lines = str(tree).splitlines()
    assert len(lines) == 2 * 9 - 1
    root = lines[0].split()
    assert root[0] == "16" and float(root[1]) == pytest.approx(tree.score)
    assert float(root[2]) == pytest.approx(float(np.mean(tree.embeddings[-1])), rel=1e-6)
    # children sit one tab deeper than their parent
    left, right = tree.merges[-1]
    depth1 = [ln for ln in lines if ln.startswith("\t ") and not ln.startswith("\t\t")]
    assert [int(ln.split()[0]) for ln in depth1] == [left, right]


def test_one_leaf_is_a_tree():
    tree = gr.greedy_tree(leaves(1), gr.merge_network(4))
    assert tree.merges.shape == (0, 2) and tree.score == 0.0
    assert tree.embeddings.shape == (1, 4)
    assert tree.to_linkage().shape == (0, 4)


@pytest.mark.parametrize(
    "bad,err,match",
    [
        (np.full((3, 4), np.nan, np.float32), ValueError, "NaN or inf"),
        (np.array([[1, 2, np.inf, 4.0]]), ValueError, "NaN or inf"),
        (np.zeros((3, 5)), ValueError, "width 5 .* width 4"),
        (np.zeros((0, 4)), ValueError, "no leaves"),
        (np.zeros(4), ValueError, "2-D"),
        (np.zeros((2, 3, 4)), ValueError, "2-D"),
        ("abc", TypeError, "numeric"),
        (np.array([["a", "b", "c", "d"]]), TypeError, "numeric"),
        ([[1, 2], [3]], ValueError, "rectangular|2-D|sequence"),
    ],
)
def test_bad_leaves(bad, err, match):
    with pytest.raises(err, match=match):
        gr.greedy_tree(bad, gr.merge_network(4))


def test_bad_sequences_and_options():
    rae = gr.RAE(4)
    with pytest.raises(ValueError, match="mix widths"):
        rae.encode([leaves(3), leaves(3, dim=5)])
    with pytest.raises(ValueError, match="list of"):
        rae.encode(leaves(3))
    with pytest.raises(ValueError, match="empty"):
        rae.encode([])
    with pytest.raises(ValueError, match="sequence 1 .*NaN"):
        rae.fit([leaves(3), np.full((2, 4), np.nan)])
    with pytest.raises(ValueError, match="pairs"):
        gr.greedy_tree(leaves(3), gr.merge_network(4), pairs="near")
    with pytest.raises(ValueError, match="scorer"):
        gr.greedy_tree(leaves(3), gr.merge_network(4), scorer="gpu")
    with pytest.raises(TypeError, match="keras.Model"):
        gr.greedy_tree(leaves(3), "net")
    with pytest.raises(ValueError, match="positive"):
        gr.merge_network(0)
    with pytest.raises(ValueError, match="epochs"):
        rae.fit([leaves(3)], epochs=0)


def test_errors_name_the_argument_and_the_cause():
    import warnings

    rae = gr.RAE(4, classes=2)
    good = [leaves(3), leaves(4)]
    # a bad validation set is reported as validation_data, not as sequences
    with pytest.raises(ValueError, match="validation_data: sequence 1 .*NaN"):
        rae.fit(good, validation_data=[leaves(2), np.full((2, 4), np.nan)])
    with pytest.raises(ValueError, match="validation_data have width 5"):
        rae.fit(good, validation_data=[leaves(2, dim=5)])
    with pytest.raises(ValueError, match=r"validation_data labels must be one integer .*\(2\)"):
        rae.fit(good, validation_data=(good, [0, 1, 1]))
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        rae.fit(good, verbose=3)
    # a float64 value past float32's range is not "NaN or inf", and no numpy
    # overflow warning comes first
    big = np.ones((3, 4))
    big[1, 2] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            ValueError, match="sequence 0: the value 1e\\+39 at row 1, column 2 is beyond float32"
        ):
            rae.encode([big])
    # the largest float32 itself passes the check
    from greedy_rae._inputs import as_leaves

    ok = np.ones((3, 4))
    ok[0, 0] = -float(np.finfo(np.float32).max)
    assert as_leaves(ok)[0, 0] == -np.finfo(np.float32).max


def test_memory_limit_is_checked_before_building():
    net = gr.merge_network(1)
    x = np.zeros((400_000, 1), np.float32)  # a 400k x 400k cache would be 1.3 TB
    with pytest.raises(MemoryError, match="GiB"):
        gr.greedy_tree(x, net, scorer="tf")


def test_encode_and_trees():
    rae = gr.RAE(4, pairs="adjacent")
    seqs = [leaves(n, seed=n) for n in (1, 2, 7)]
    roots = rae.encode(seqs)
    assert roots.shape == (3, 4) and roots.dtype == np.float32
    np.testing.assert_array_equal(roots[0], seqs[0][0])
    trees = rae.trees(seqs)
    for t, s, r in zip(trees, seqs, roots):
        np.testing.assert_array_equal(t.root, r)
        assert t.n == len(s)
        want = gr.greedy_tree(s, rae.network, "adjacent")
        np.testing.assert_array_equal(t.merges, want.merges)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_load_round_trip(tmp_path, suffix):
    rae = gr.RAE(4, pairs="adjacent")
    seqs = [leaves(n, seed=n) for n in (5, 11)]
    rae.fit(seqs, epochs=2, batch_size=1, verbose=0)
    path = tmp_path / f"model{suffix}"
    rae.save(path)
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary left behind
    back = gr.RAE.load(path)
    assert back.pairs == "adjacent"
    for a, b in zip(rae.trees(seqs), back.trees(seqs)):
        np.testing.assert_array_equal(a.merges, b.merges)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.embeddings, b.embeddings)


def test_the_head_options_are_saved_and_checked(tmp_path):
    rae = gr.RAE(3, classes=2, head_loss="squared", inner_weight=0.5)
    seqs = [leaves(n, dim=3, seed=n) for n in (4, 6)]
    y = np.array([0, 1])
    rae.fit(seqs, labels=y, epochs=1, verbose=0)
    rae.save(tmp_path / "m.keras")
    back = gr.RAE.load(tmp_path / "m.keras")
    assert (back.head_loss, back.inner_weight) == ("squared", 0.5)
    assert back.evaluate(seqs, labels=y)["loss"] == pytest.approx(
        rae.evaluate(seqs, labels=y)["loss"], rel=1e-6
    )
    assert "head_loss='squared', inner_weight=0.5" in repr(back)
    with pytest.raises(ValueError, match="head_loss must be 'cross_entropy' or 'squared'"):
        gr.RAE(3, classes=2, head_loss="mse")
    for bad in (-1.0, float("nan"), "0.5"):
        with pytest.raises(ValueError, match="inner_weight must be"):
            gr.RAE(3, classes=2, inner_weight=bad)


def test_failed_save_keeps_the_old_file(tmp_path):
    rae = gr.RAE(4)
    path = tmp_path / "model.keras"
    rae.save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"\.keras or \.h5"):
        rae.save(tmp_path / "model.txt")
    with pytest.raises(ValueError, match="does not exist"):
        rae.save(tmp_path / "missing" / "model.keras")

    class Broken(Exception):
        pass

    def fail(*a, **k):
        raise Broken()

    rae.network.save = fail
    with pytest.raises(Broken):
        rae.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


@pytest.mark.slow
def test_post_example_trains_along_reference_curve():
    import keras

    keras.utils.set_random_seed(1)
    ref_net = merge_encoder(10)
    net = gr.merge_network(10)
    net.set_weights(ref_net.get_weights())
    x = post_example()[::2]  # 10 leaves keep the reference fast
    steps = 15
    want = reference_train(x, ref_net, steps)
    rae = gr.RAE(network=net)
    got = [rae.fit([x], epochs=1, batch_size=1, verbose=0)["loss"][0] for _ in range(steps)]
    np.testing.assert_allclose(got, want, rtol=1e-3)
    assert got[-1] < got[0]


def test_fit_history_and_callbacks(tmp_path):
    import keras

    rae = gr.RAE(4)
    seqs = [leaves(n, seed=n) for n in range(2, 12)]
    log = tmp_path / "log.csv"
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    hist = rae.fit(
        seqs,
        epochs=3,
        batch_size=4,
        verbose=0,
        seed=0,
        validation_data=seqs[:3],
        callbacks=[Recorder(), keras.callbacks.CSVLogger(str(log))],
    )
    assert len(hist["loss"]) == 3 and len(hist["val_loss"]) == 3
    assert [s["loss"] for s in seen] == hist["loss"]
    assert log.read_text().count("\n") == 4
    assert hist["val_loss"][-1] == pytest.approx(rae.evaluate(seqs[:3]), rel=1e-6)


@pytest.mark.slow
def test_cli_demo():
    out = subprocess.run(
        [sys.executable, "-m", "greedy_rae", "demo", "--steps", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "step    1" in out.stdout and "Final tree" in out.stdout
    assert len(out.stdout.splitlines()) > 39


@pytest.mark.parametrize("scorer", ["native", "tf"])
def test_diverged_weights_raise_instead_of_silent_nan(scorer):
    net = gr.merge_network(4)
    w = net.get_weights()
    w[2][0, 0] = np.nan
    net.set_weights(w)
    with pytest.raises(FloatingPointError, match="non-finite"):
        gr.greedy_tree(leaves(6), net, scorer=scorer)
    w[2][0, 0] = np.inf
    net.set_weights(w)
    with pytest.raises(FloatingPointError, match="non-finite"):
        gr.greedy_tree(leaves(6), net, scorer=scorer)
