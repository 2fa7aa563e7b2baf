"""Trees, scores and gradients held against the post's algorithm (seed_reference)."""

import greedy_rae as gr
import numpy as np
import pytest
from greedy_rae.cli import post_example
from seed_reference import reference_gradients, reference_tree

CASES = [(1, 4), (2, 4), (3, 5), (7, 3), (12, 6), (20, 4), (30, 5)]


# the slow n=30 all-pairs reference runs once, for the native scorer
PARAMS = [
    (pairs, scorer, n, dim)
    for pairs in ("all", "adjacent")
    for scorer in ("native", "tf")
    for n, dim in CASES
    if not (pairs == "all" and scorer == "tf" and n == 30)
]


@pytest.mark.slow
@pytest.mark.parametrize("pairs,scorer,n,dim", PARAMS)
def test_tree_matches_reference(random_network, pairs, scorer, n, dim):
    m = random_network(dim, seed=n)
    leaves = np.random.default_rng(100 + n).normal(size=(n, dim)).astype(np.float32)
    tree = gr.greedy_tree(leaves, m, pairs, scorer=scorer)
    assert tree.stats["scorer"] == scorer
    merges, scores, emb = reference_tree(leaves, m, adjacent=pairs == "adjacent")
    np.testing.assert_array_equal(tree.merges, merges)
    np.testing.assert_allclose(tree.scores, scores, rtol=1e-5)
    np.testing.assert_allclose(tree.embeddings[n:], emb, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(tree.embeddings[:n], leaves)
    assert tree.score == pytest.approx(scores[-1] if n > 1 else 0.0, rel=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("scorer", ["native", "tf"])
def test_post_example_with_ties(random_network, pairs, scorer):
    # every leaf appears twice: exact ties everywhere, resolved to the earliest pair
    m = random_network(10, seed=3)
    leaves = post_example()
    tree = gr.greedy_tree(leaves, m, pairs, scorer=scorer)
    merges, scores, _ = reference_tree(leaves, m, adjacent=pairs == "adjacent")
    np.testing.assert_array_equal(tree.merges, merges)
    np.testing.assert_allclose(tree.scores, scores, rtol=1e-5)


def test_custom_network_uses_tf_scorer(random_network):
    import keras

    # an activation the native engine does not compute
    a, b = keras.Input((4,)), keras.Input((4,))
    c = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(4, activation="sigmoid")(c)
    y = keras.layers.Dense(8)(h)
    net = keras.Model([a, b], [h, c, y])
    leaves = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    tree = gr.greedy_tree(leaves, net)
    assert tree.stats["scorer"] == "tf"
    merges, scores, _ = reference_tree(leaves, net)
    np.testing.assert_array_equal(tree.merges, merges)
    np.testing.assert_allclose(tree.scores, scores, rtol=1e-5)
    with pytest.raises(ValueError, match="native"):
        gr.greedy_tree(leaves, net, scorer="native")


@pytest.mark.slow
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_tf_scorer_splits_big_steps(random_network, monkeypatch, pairs):
    # steps with more pairs than one call takes are split; the trees (the
    # post's leaves with their exact ties, and random ones, several at once) are
    # the reference's either way
    from greedy_rae.build import build_trees, tf_scorer

    m = random_network(2, seed=5)
    ties = np.array([[1, 2], [2, 3], [1, 2], [5, 6], [2, 3]], dtype=np.float32)
    seqs = [ties, *np.random.default_rng(1).normal(size=(3, 12, 2)).astype(np.float32)]
    monkeypatch.setattr(tf_scorer, "CHUNK", 3)
    trees = build_trees(seqs, m, pairs, scorer="tf")
    for x, tree in zip(seqs, trees):
        merges, scores, _ = reference_tree(x, m, adjacent=pairs == "adjacent")
        np.testing.assert_array_equal(tree.merges, merges)
        np.testing.assert_allclose(tree.scores, scores, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("n", [2, 6, 15, 25])
def test_gradients_match_reference(random_network, pairs, n):
    dim = 5
    m = random_network(dim, seed=7 + n)
    leaves = np.random.default_rng(n).normal(size=(n, dim)).astype(np.float32)
    want_loss, want = reference_gradients(leaves, m, adjacent=pairs == "adjacent")
    rae = gr.RAE(network=m, pairs=pairs)
    loss, grads = rae.loss_and_gradients([leaves])
    assert loss == pytest.approx(want_loss, rel=1e-5)
    assert len(grads) == len(m.trainable_weights)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-3, atol=1e-3 * np.abs(w).max())


def test_minibatch_gradient_is_mean_of_sequences(random_network):
    dim = 4
    m = random_network(dim, seed=1)
    rng = np.random.default_rng(5)
    seqs = [rng.normal(size=(n, dim)).astype(np.float32) for n in (1, 3, 8, 12)]
    per_seq = [reference_gradients(s, m) for s in seqs]
    rae = gr.RAE(network=m, scorer="tf")
    loss, grads = rae.loss_and_gradients(seqs)
    assert loss == pytest.approx(np.mean([p[0] for p in per_seq]), rel=1e-5)
    for k, g in enumerate(grads):
        want = np.mean([p[1][k] for p in per_seq], axis=0)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


@pytest.mark.parametrize("n", [5, 40, 120])
def test_pairs_scored_counts(random_network, n):
    m = random_network(3, seed=n)
    leaves = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
    # the TF scorer's network scores each pair once: (n-1)^2 in all
    t = gr.greedy_tree(leaves, m, "all", scorer="tf")
    assert t.stats["pairs_scored"] == (n - 1) ** 2 and t.stats["pairs_rescored"] == 0
    # the native scorer skips the pairs that its lower bound rules out
    t = gr.greedy_tree(leaves, m, "all", scorer="native")
    assert 0 < t.stats["pairs_scored"] <= (n - 1) ** 2
    for scorer in ("native", "tf"):
        t = gr.greedy_tree(leaves, m, "adjacent", scorer=scorer)
        assert t.stats["pairs_scored"] <= 3 * n


def test_native_and_tf_agree_on_longer_sequences(random_network):
    m = random_network(6, seed=9)
    leaves = np.random.default_rng(9).normal(size=(150, 6)).astype(np.float32)
    for pairs in ("all", "adjacent"):
        a = gr.greedy_tree(leaves, m, pairs, scorer="native")
        b = gr.greedy_tree(leaves, m, pairs, scorer="tf")
        np.testing.assert_array_equal(a.merges, b.merges)
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
