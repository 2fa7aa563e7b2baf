"""Reliability: property tests, damaged files, threads, inputs of every shape, memory."""

import io
import os
import threading
import zipfile

import greedy_rae as gr
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import is_valid_linkage
from socher_reference import merge_pair, reference_tree, weights_of


def network(dim, activation, scale, seed):
    import keras

    keras.utils.set_random_seed(seed)
    net = gr.merge_network(dim, activation, activation != "linear")
    rng = np.random.default_rng(seed)
    net.set_weights(
        [(rng.normal(size=w.shape) * scale).astype(np.float32) for w in net.get_weights()]
    )
    return net


def check_invariants(tree, n, dim):
    assert tree.merges.shape == (n - 1, 2) and tree.scores.shape == (n - 1,)
    assert tree.embeddings.shape == (2 * n - 1, dim)
    children = np.sort(tree.merges.ravel())
    np.testing.assert_array_equal(children, np.arange(2 * n - 2))  # every node once, root none
    z = tree.to_linkage()
    assert n == 1 or is_valid_linkage(z)
    for k, (a, b) in enumerate(tree.merges):  # a node's score is at least its children's
        assert tree.scores[k] >= tree.node_score(int(a)) and tree.scores[k] >= tree.node_score(
            int(b)
        )
    assert np.isfinite(tree.scores).all() and np.isfinite(tree.embeddings).all()


cases = st.fixed_dictionaries(
    {
        "n": st.integers(1, 40),
        "dim": st.integers(1, 16),
        "pairs": st.sampled_from(["all", "adjacent"]),
        "scorer": st.sampled_from(["native", "tf"]),
        "activation": st.sampled_from(["linear", "tanh"]),
        "reconstruction": st.sampled_from(["plain", "weighted"]),
        "duplicates": st.booleans(),
        "scale": st.sampled_from([1e-3, 0.3, 3.0]),
        "seed": st.integers(0, 2**16),
    }
)


def make_case(c):
    net = network(c["dim"], c["activation"], c["scale"], c["seed"])
    rng = np.random.default_rng(c["seed"])
    x = rng.normal(size=(c["n"], c["dim"])).astype(np.float32)
    if c["duplicates"]:
        x[c["n"] // 2 :] = x[: c["n"] - c["n"] // 2]  # exact ties
    return net, x


def check_each_merge(tree, net, weighted):
    """Every merge's parent and error equal the float64 definition applied to the
    tree's own children, within float32 rounding. (Against the reference's whole
    tree, the differences grow with depth where the network expands, as a linear
    one with large weights does: rounding, not a wrong merge.)"""
    spec = weights_of(net)
    count = [1] * tree.n
    for k, (a, b) in enumerate(tree.merges):
        emb = tree.embeddings.astype(np.float64)
        h, err = merge_pair(spec, emb[a], emb[b], count[a], count[b], weighted)
        count.append(count[a] + count[b])
        got = tree.scores[k] - tree.node_score(int(a)) - tree.node_score(int(b))
        assert abs(got - err) <= 2e-4 * tree.scores[k] + 1e-6, (k, got, err)
        scale = np.abs(emb[a]).max() + np.abs(emb[b]).max() + 1.0
        np.testing.assert_allclose(emb[tree.n + k], h, rtol=1e-4, atol=1e-5 * scale)


# derandomize: the same examples at every run, so that a run's result does not
# depend on the draw
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@pytest.mark.slow
@given(cases)
def test_trees_equal_the_reference(c):
    net, x = make_case(c)
    merges, scores, emb, gap = reference_tree(x, net, c["pairs"], c["reconstruction"])
    assume(gap > 2e-5)  # a choice within float rounding of the runner-up may go either way
    tree = gr.greedy_tree(x, net, c["pairs"], c["reconstruction"], scorer=c["scorer"])
    np.testing.assert_array_equal(tree.merges, merges)
    check_each_merge(tree, net, c["reconstruction"] == "weighted")
    check_invariants(tree, c["n"], c["dim"])


@pytest.mark.slow
@settings(max_examples=100, deadline=None, derandomize=True)
@given(cases)
def test_invariants_hold_for_any_tree(c):
    net, x = make_case(c)
    tree = gr.greedy_tree(x, net, c["pairs"], c["reconstruction"], scorer=c["scorer"])
    check_invariants(tree, c["n"], c["dim"])


# -- damaged files -------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    rae = gr.RAE(3, classes=2)
    paths = {}
    for suffix in (".keras", ".h5"):
        paths[suffix] = tmp_path / f"good{suffix}"
        rae.save(paths[suffix])
    return rae, paths


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "foreign"])
def test_damaged_model_files_give_a_clear_error(tmp_path, saved, suffix, damage):
    good = saved[1][suffix].read_bytes()
    bad = tmp_path / f"bad{suffix}"
    if damage == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "garbage":
        bad.write_bytes(os.urandom(5000))
    else:  # a valid container holding something else
        if suffix == ".keras":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("notes.txt", "hello")
            bad.write_bytes(buf.getvalue())
        else:
            import h5py

            with h5py.File(bad, "w") as f:
                f["x"] = np.arange(3)
    with pytest.raises(ValueError, match=f"cannot load .*bad{suffix}.*not a readable"):
        gr.RAE.load(bad)


def test_a_keras_model_that_is_not_a_merge_network_is_refused(tmp_path):
    import keras

    path = tmp_path / "other.keras"
    x = keras.Input((3,))
    keras.Model(x, keras.layers.Dense(2)(x)).save(path)
    with pytest.raises(ValueError, match="other.keras.*two inputs"):
        gr.RAE.load(path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign"])
def test_damaged_checkpoints_give_a_clear_error(tmp_path, damage):
    data = [np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32) for _ in range(4)]
    rae = gr.RAE(3)
    rae.fit(data, epochs=1, verbose=0, checkpoint_dir=tmp_path)
    ckpt = tmp_path / "checkpoint.npz"
    good = ckpt.read_bytes()
    if damage == "truncated":
        ckpt.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        ckpt.write_bytes(os.urandom(2000))
    else:
        np.savez(ckpt, something=np.arange(3))
    with pytest.raises(ValueError, match="checkpoint.npz.*damaged or not a greedy-rae checkpoint"):
        gr.RAE(3).fit(data, epochs=2, verbose=0, checkpoint_dir=tmp_path)


def test_save_into_a_read_only_folder_keeps_the_old_file(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "model.keras"
    gr.RAE(3).save(path)
    before = path.read_bytes()
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:
            # root writes anyway: refuse the way the kernel refuses everyone else
            import tempfile

            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied", str(folder))

            monkeypatch.setattr(tempfile, "mkstemp", refuse)
        with pytest.raises(PermissionError):
            gr.RAE(3).save(path)
    finally:
        folder.chmod(0o700)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras"]
    gr.RAE.load(path)


# -- threads -------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_builds_from_several_threads_equal_one_after_another(activation):
    net = network(8, activation, 0.4, seed=1)
    rng = np.random.default_rng(1)
    jobs = [
        [rng.normal(size=(int(n), 8)).astype(np.float32) for n in rng.integers(1, 300, 6)]
        for _ in range(4)
    ]
    pairs = ["all", "adjacent", "all", "adjacent"]
    want = [gr.RAE(network=net, pairs=p).trees(j) for p, j in zip(pairs, jobs)]
    got = [None] * 4
    errors = []

    def work(k):
        try:
            got[k] = gr.RAE(network=net, pairs=pairs[k]).trees(jobs[k])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for a, b in zip(got, want):
        for ta, tb in zip(a, b):
            np.testing.assert_array_equal(ta.merges, tb.merges)
            np.testing.assert_array_equal(ta.scores, tb.scores)
            np.testing.assert_array_equal(ta.embeddings, tb.embeddings)


# -- inputs of every shape ------------------------------------------------------


def test_inputs_of_every_shape_give_the_float32_trees():
    net = network(4, "tanh", 0.5, seed=2)
    rng = np.random.default_rng(2)
    base = rng.normal(size=(12, 4))
    wide = np.repeat(base, 2, axis=1)  # columns 0, 2, 4, 6 are base's
    reversed_rows = np.ascontiguousarray(base[::-1])[::-1]  # a negative stride, same values
    readonly = base.astype(np.float32)
    readonly.setflags(write=False)
    variants = {
        "float64": base,
        "non-contiguous": wide[:, ::2],
        "negative stride": reversed_rows,
        "read-only": readonly,
        "big-endian": base.astype(">f4"),
        "list of lists": base.tolist(),
        "float16": base.astype(np.float16),
    }
    for name, x in variants.items():
        want_x = np.ascontiguousarray(np.asarray(x), dtype=np.float32)
        want = gr.greedy_tree(want_x, net, "all")
        got = gr.greedy_tree(x, net, "all")
        np.testing.assert_array_equal(got.merges, want.merges, err_msg=name)
        np.testing.assert_array_equal(got.scores, want.scores, err_msg=name)
    ints = rng.integers(-3, 4, size=(10, 4))
    for x in (ints, ints.astype(np.int8), ints > 0):
        want = gr.greedy_tree(np.asarray(x, np.float32), net, "adjacent")
        np.testing.assert_array_equal(gr.greedy_tree(x, net, "adjacent").merges, want.merges)


def test_sequences_as_tuple_or_generator():
    rae = gr.RAE(3, pairs="adjacent")
    seqs = [np.random.default_rng(k).normal(size=(k + 2, 3)).astype(np.float32) for k in range(5)]
    want = rae.encode(seqs)
    np.testing.assert_array_equal(rae.encode(tuple(seqs)), want)
    np.testing.assert_array_equal(rae.encode(s for s in seqs), want)
    assert len(rae.trees(iter(seqs))) == 5
    rae.fit((s for s in seqs), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="list of"):
        rae.encode({"a": seqs[0]})
    with pytest.raises(TypeError, match="list of"):
        rae.encode(5)


# -- memory --------------------------------------------------------------------


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("kind", ["linear", "tanh", "tf"])
def test_memory_error_before_allocating(monkeypatch, pairs, kind):
    from greedy_rae import _memory

    net = network(16, "linear" if kind == "tf" else kind, 0.3, seed=3)
    scorer = "tf" if kind == "tf" else "native"
    x = np.random.default_rng(3).normal(size=(5000, 16)).astype(np.float32)
    need = _memory.estimate_memory(
        [5000],
        16,
        "cache" if kind == "tf" else ("linear" if kind == "linear" else "nonlinear"),
        pairs,
    )
    monkeypatch.setattr(_memory, "available_memory", lambda: need - 1)
    with pytest.raises(MemoryError, match="needs about .* GiB"):
        gr.greedy_tree(x, net, pairs, scorer=scorer)
    monkeypatch.setattr(_memory, "available_memory", lambda: need)
    assert gr.greedy_tree(x[:50], net, pairs, scorer=scorer).n == 50


def test_memory_estimates_come_from_the_core():
    from greedy_rae import _core

    # adjacent mode is O(n) for every scorer, all pairs' error cache O(n^2)
    n = 100_000
    assert _core.build_bytes(n, 8, "adjacent", "cache") < 1000 * n
    assert _core.build_bytes(n, 8, "all", "cache") >= 4 * n * n
    assert _core.build_bytes(n, 8, "all", "linear") < 1000 * n
    assert _core.build_bytes(n, 8, "all", "nonlinear") < 1000 * n
    with pytest.raises(ValueError, match="kind"):
        _core.build_bytes(10, 8, "all", "gpu")


def test_a_model_file_of_a_later_format_is_refused(tmp_path):
    import json
    import zipfile

    path = tmp_path / "m.keras"
    gr.RAE(3).save(path)
    newer = tmp_path / "newer.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(newer, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "greedy_rae.json":
                meta = json.loads(data)
                assert meta["format"] == 3
                data = json.dumps({**meta, "format": 99}).encode()
            dst.writestr(item, data)
    with pytest.raises(ValueError, match="format 99, written by a later greedy-rae"):
        gr.RAE.load(newer)
    assert gr.RAE.load(path).pairs == "all"
