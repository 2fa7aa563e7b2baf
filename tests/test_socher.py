"""Socher et al.'s RAE: nonlinear and normalised networks, weighted errors, label head."""

import itertools

import greedy_rae as gr
import keras
import numpy as np
import pytest
import tensorflow as tf
from socher_reference import reference_tree

CONFIGS = [
    # (activation, normalize, decoder_activation, reconstruction)
    ("tanh", True, "linear", "plain"),  # the paper's network
    ("tanh", True, "tanh", "weighted"),  # its released code's, the paper's error
    ("tanh", False, "linear", "weighted"),
    ("linear", True, "linear", "plain"),
    ("relu", False, "tanh", "plain"),
    ("linear", False, "linear", "weighted"),  # the post's network, weighted error
]


def network(dim, act, norm, dec, seed, scale=0.6):
    keras.utils.set_random_seed(seed)
    net = gr.merge_network(dim, act, norm, dec)
    rng = np.random.default_rng(seed)
    net.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in net.get_weights()])
    return net


def clear_cases(config, pairs, count, dim=5):
    """Random cases whose greedy choices are clear of float rounding (relative gap
    between the best and the runner-up above 1e-4 at every step)."""
    act, norm, dec, rec = config
    found = []
    for seed in range(200):
        net = network(dim, act, norm, dec, seed)
        rng = np.random.default_rng(1000 + seed)
        n = int(rng.integers(2, 16))
        leaves = rng.normal(size=(n, dim)).astype(np.float32)
        ref = reference_tree(leaves, net, pairs, rec)
        if ref[3] > 1e-4:
            found.append((net, leaves, ref))
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} clear cases for {config}")


def both_scorers_give(ref, leaves, net, pairs, rec):
    """Asserts that the native engine and the TF scorer build the reference
    tree ``ref`` (merges, scores, embeddings); returns the TF scorer's tree."""
    merges, scores, emb, _ = ref
    for scorer in ("native", "tf"):
        tree = gr.greedy_tree(leaves, net, pairs, rec, scorer=scorer)
        assert tree.stats["scorer"] == scorer
        np.testing.assert_array_equal(tree.merges, merges)
        np.testing.assert_allclose(tree.scores, scores, rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(tree.embeddings, emb, rtol=1e-3, atol=1e-4)
    return tree


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_trees_match_numpy_reference(config, pairs):
    for net, leaves, ref in clear_cases(config, pairs, 4):
        both_scorers_give(ref, leaves, net, pairs, config[3])


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("rec", ["plain", "weighted"])
def test_normalised_reconstructions_match_the_reference(pairs, rec):
    # Socher et al.'s code: each half of the reconstruction of unit length
    checked = 0
    for seed in range(60):
        keras.utils.set_random_seed(seed)
        net = gr.merge_network(5, "tanh", True, "tanh", normalize_reconstruction=True)
        rng = np.random.default_rng(seed)
        net.set_weights([rng.normal(0, 0.6, w.shape).astype(np.float32) for w in net.get_weights()])
        leaves = rng.normal(size=(int(rng.integers(2, 14)), 5)).astype(np.float32)
        ref = reference_tree(leaves, net, pairs, rec)
        if ref[3] <= 1e-4:
            continue  # a near-tie float32 may break either way
        tree = both_scorers_give(ref, leaves, net, pairs, rec)
        checked += 1
        if checked == 4:
            break
    assert checked == 4
    # the option changes the trees' errors
    plain = gr.merge_network(5, "tanh", True, "tanh")
    plain.set_weights(net.get_weights())
    assert not np.allclose(gr.greedy_tree(leaves, plain).scores, tree.scores)


@pytest.mark.slow
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_native_equals_tf_on_longer_sequences(pairs):
    # the float32 engines against each other, away from near-ties
    checked = 0
    for seed, (act, norm, dec, rec) in itertools.product(range(3), CONFIGS[:3]):
        net = network(8, act, norm, dec, seed, scale=0.4)
        leaves = np.random.default_rng(seed).normal(size=(60, 8)).astype(np.float32)
        a = gr.greedy_tree(leaves, net, pairs, rec, scorer="native")
        b = gr.greedy_tree(leaves, net, pairs, rec, scorer="tf")
        if np.array_equal(a.merges, b.merges):
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4)
            checked += 1
        else:
            # a differing choice must be a float-rounding near-tie
            k = int(np.argmax(np.any(a.merges != b.merges, axis=1)))
            assert abs(a.scores[k] - b.scores[k]) <= 1e-4 * abs(b.scores[k])
    assert checked >= 7


def test_exact_ties_go_to_the_earliest_pair():
    # every leaf twice: equal pairs must give bitwise equal errors natively too
    from greedy_rae.cli import post_example

    leaves = post_example()
    for act, norm, dec, rec in CONFIGS[:2]:
        net = network(10, act, norm, dec, seed=3, scale=0.3)
        for pairs in ("all", "adjacent"):
            merges, scores, _, _ = reference_tree(leaves, net, pairs, rec)
            tree = gr.greedy_tree(leaves, net, pairs, rec, scorer="native")
            np.testing.assert_array_equal(tree.merges, merges)
            np.testing.assert_allclose(tree.scores, scores, rtol=2e-4)


def test_user_built_network_of_the_same_structure_runs_natively():
    a, b = keras.Input((4,)), keras.Input((4,))
    c = keras.layers.Concatenate()([a, b])
    z = keras.layers.Dense(4, activation="tanh")(c)
    h = keras.layers.UnitNormalization()(z)
    y = keras.layers.Dense(8, activation="tanh")(h)
    net = keras.Model([a, b], [h, c, y])
    leaves = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    native = gr.greedy_tree(leaves, net)
    assert native.stats["scorer"] == "native"
    tf_tree = gr.greedy_tree(leaves, net, scorer="tf")
    np.testing.assert_array_equal(native.merges, tf_tree.merges)
    np.testing.assert_allclose(native.scores, tf_tree.scores, rtol=1e-4)
    # normalised parents: every merged node has unit length
    norms = np.linalg.norm(native.embeddings[9:], axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def taped_reference_loss(rae, seqs, labels):
    """The minibatch loss taped one merge at a time over the reference trees."""
    weighted = rae.reconstruction == "weighted"
    total = 0.0
    for k, x in enumerate(seqs):
        merges = reference_tree(x, rae.network, rae.pairs, rae.reconstruction)[0]
        n = len(x)
        nodes = [tf.constant(row[None]) for row in x]
        count = [1] * n
        err_sum = 0.0
        for a, b in merges:
            h, c, y = rae.network([nodes[a], nodes[b]])
            sq = tf.square(y - c)
            e1 = 0.5 * tf.reduce_sum(sq[:, : rae.dim])
            e2 = 0.5 * tf.reduce_sum(sq[:, rae.dim :])
            if weighted:
                n1, n2 = count[a], count[b]
                err_sum += (n1 * e1 + n2 * e2) / (n1 + n2)
            else:
                err_sum += e1 + e2
            nodes.append(h)
            count.append(count[a] + count[b])
        if rae.classifier is None:
            total += err_sum
            continue
        total += rae.alpha * err_sum
        if labels is not None and labels[k] >= 0:
            p = rae.classifier(tf.concat(nodes, axis=0))[:, int(labels[k])]
            total += (1 - rae.alpha) * tf.reduce_sum(-tf.math.log(p))
    return total / len(seqs)


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[1]])
@pytest.mark.parametrize("replay", ["numpy", "graph", "graph loop"])
def test_label_head_gradients_match_a_tape_over_the_reference(pairs, config, replay, monkeypatch):
    if replay == "graph loop":  # the while loop that deep trees take
        monkeypatch.setattr("greedy_rae.replay.graph_pass.UNROLL", 0)
    act, norm, dec, rec = config
    net = network(4, act, norm, dec, seed=5, scale=0.5)
    keras.utils.set_random_seed(5)
    rae = gr.RAE(
        network=net,
        pairs=pairs,
        reconstruction=rec,
        classes=3,
        alpha=0.3,
        replay="numpy" if replay == "numpy" else "graph",
    )
    rng = np.random.default_rng(7)
    seqs = [rng.normal(size=(n, 4)).astype(np.float32) for n in (1, 3, 6, 9)]
    labels = np.array([2, -1, 0, 1])
    with tf.GradientTape() as tape:
        want = taped_reference_loss(rae, seqs, labels)
    want_grads = tape.gradient(want, rae.trainable_weights)
    loss, grads = rae.loss_and_gradients(seqs, labels)
    assert loss == pytest.approx(float(want), rel=1e-4)
    assert len(grads) == len(rae.network.trainable_weights) + 2
    for g, w in zip(grads, want_grads):
        w = w.numpy()
        np.testing.assert_allclose(g.numpy(), w, rtol=2e-3, atol=2e-3 * np.abs(w).max())
    # unlabelled: alpha times the mean root score
    loss_u, _ = rae.loss_and_gradients(seqs)
    roots = [reference_tree(x, net, pairs, rec)[1] for x in seqs]
    mean_root = np.mean([r[-1] if len(r) else 0.0 for r in roots])
    assert loss_u == pytest.approx(0.3 * mean_root, rel=1e-4)


def test_weight_decay_is_added_to_the_loss():
    c = 0.01
    plain = gr.merge_network(4, "tanh", True)
    decayed = gr.merge_network(4, "tanh", True, kernel_regularizer=keras.regularizers.L2(c))
    plain.set_weights(network(4, "tanh", True, "linear", seed=2).get_weights())
    decayed.set_weights(plain.get_weights())
    seqs = [np.random.default_rng(k).normal(size=(6, 4)).astype(np.float32) for k in range(3)]
    l0, g0 = gr.RAE(network=plain).loss_and_gradients(seqs)
    l1, g1 = gr.RAE(network=decayed).loss_and_gradients(seqs)
    kernels = [plain.get_layer("encode").kernel, plain.get_layer("decode").kernel]
    penalty = sum(c * float(np.sum(k.numpy() ** 2)) for k in kernels)
    assert l1 == pytest.approx(l0 + penalty, rel=1e-5)
    for w, a, b in zip(plain.trainable_weights, g0, g1):
        extra = 2 * c * w.numpy() if w.path.endswith("kernel") else 0.0
        np.testing.assert_allclose(b.numpy(), a.numpy() + extra, rtol=1e-4, atol=1e-6)


def test_features():
    rae = gr.RAE(3, activation="tanh", normalize=True)
    seqs = [np.random.default_rng(k).normal(size=(k + 1, 3)).astype(np.float32) for k in range(5)]
    trees = rae.trees(seqs)
    root = rae.encode(seqs)
    mean = rae.encode(seqs, features="mean")
    both = rae.encode(seqs, features="root+mean")
    assert both.shape == (5, 6) and both.dtype == np.float32
    np.testing.assert_array_equal(both, np.concatenate([root, mean], axis=1))
    for t, r, m in zip(trees, root, mean):
        np.testing.assert_array_equal(r, t.embeddings[-1])
        np.testing.assert_allclose(m, t.embeddings.sum(axis=0) / (2 * t.n - 1), rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        rae.encode(seqs, features="max")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_load_keeps_options_and_head(tmp_path, suffix):
    keras.utils.set_random_seed(0)
    rae = gr.RAE(
        4,
        pairs="adjacent",
        activation="tanh",
        normalize=True,
        reconstruction="weighted",
        classes=3,
        alpha=0.4,
        classifier=None,
    )
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), 4)).astype(np.float32) for n in rng.integers(1, 10, 12)]
    labels = rng.integers(-1, 3, 12)
    rae.fit(seqs, labels=labels, epochs=2, batch_size=4, verbose=0, seed=0)
    path = tmp_path / f"model{suffix}"
    rae.save(path)
    back = gr.RAE.load(path)
    assert (back.pairs, back.reconstruction, back.classes, back.alpha) == (
        "adjacent",
        "weighted",
        3,
        0.4,
    )
    assert back.trees(seqs)[0].stats["scorer"] == "native"
    np.testing.assert_array_equal(back.predict_proba(seqs), rae.predict_proba(seqs))
    np.testing.assert_array_equal(back.encode(seqs), rae.encode(seqs))
    assert back.evaluate(seqs, labels) == rae.evaluate(seqs, labels)
    assert "classes=3" in repr(back) and "trained" in repr(back)


@pytest.mark.slow
def test_semi_supervised_training_learns_the_labels():
    # two classes told apart by the sign of the first coordinate
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 80)
    seqs = []
    for y in labels:
        x = rng.normal(size=(int(rng.integers(3, 9)), 4)).astype(np.float32)
        x[:, 0] = np.abs(x[:, 0]) * (1 if y else -1)
        seqs.append(x)
    keras.utils.set_random_seed(0)
    rae = gr.RAE(
        4,
        activation="tanh",
        normalize=True,
        classes=2,
        alpha=0.2,
        optimizer=keras.optimizers.Adam(0.03),
    )
    assert "untrained" in repr(rae)
    half = labels.copy()
    half[::2] = -1  # half of them unlabelled
    hist = rae.fit(
        seqs,
        labels=half,
        epochs=15,
        batch_size=16,
        verbose=0,
        seed=0,
        validation_data=(seqs, labels),
    )
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_accuracy"][-1] >= 0.9
    assert rae.evaluate(seqs, labels)["accuracy"] == hist["val_accuracy"][-1]
    proba = rae.predict_proba(seqs)
    assert proba.shape == (80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(rae.predict(seqs), np.argmax(proba, axis=1))


def test_bad_options_and_labels():
    seqs = [np.zeros((3, 4), np.float32), np.ones((2, 4), np.float32)]
    with pytest.raises(ValueError, match="activation.*'sigmoid'"):
        gr.merge_network(4, activation="sigmoid")
    with pytest.raises(ValueError, match="decoder_activation.*'softmax'"):
        gr.RAE(4, decoder_activation="softmax")
    with pytest.raises(ValueError, match="reconstruction.*'mean'"):
        gr.RAE(4, reconstruction="mean")
    with pytest.raises(ValueError, match="reconstruction.*'mean'"):
        gr.greedy_tree(seqs[0], gr.merge_network(4), "all", "mean")
    with pytest.raises(ValueError, match="classes.*1"):
        gr.RAE(4, classes=1)
    with pytest.raises(ValueError, match="alpha.*1.5"):
        gr.RAE(4, classes=2, alpha=1.5)
    with pytest.raises(ValueError, match="alpha.*-0.1"):
        gr.RAE(4, classes=2, alpha=-0.1)
    with pytest.raises(ValueError, match="give them to merge_network"):
        gr.RAE(network=gr.merge_network(4), activation="tanh")
    rae = gr.RAE(4, classes=3)
    with pytest.raises(ValueError, match=r"one integer per sequence \(2\)"):
        rae.fit(seqs, labels=[0, 1, 2], verbose=0)
    with pytest.raises(ValueError, match="integers.*float"):
        rae.fit(seqs, labels=[0.5, 1], verbose=0)
    with pytest.raises(ValueError, match=r"-1\.\.2.*3 at sequence 1"):
        rae.loss_and_gradients(seqs, labels=[0, 3])
    with pytest.raises(ValueError, match=r"-1\.\.2.*-2 at sequence 0"):
        rae.evaluate(seqs, labels=[-2, 0])
    with pytest.raises(ValueError, match="label head"):
        gr.RAE(4).fit(seqs, labels=[0, 1], verbose=0)
    with pytest.raises(ValueError, match="label head"):
        gr.RAE(4).predict(seqs)
