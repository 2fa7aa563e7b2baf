"""The numpy gradient pass and the numpy Adam step, against TensorFlow's own
gradients (the graph pass under a GradientTape) and Keras's own Adam."""

import greedy_rae as gr
import keras
import numpy as np
import pytest
import tensorflow as tf
from greedy_rae.build.plan import Plan
from greedy_rae.replay.numpy_adam import adam_slots, adam_step, plain_adam
from greedy_rae.replay.runner import row_labels


def sequences(count, dim, seed, lo=1, hi=12):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(n), dim)).astype(np.float32) for n in rng.integers(lo, hi, count)]


def randomised(rae, seed):
    """Random weights, large enough that every activation and the head matter."""
    rng = np.random.default_rng(seed)
    for w in rae._runner.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype(np.float32))


NETWORKS = {
    "linear": dict(),
    "socher": dict(activation="tanh", normalize=True),
    "relu, tanh decoder": dict(activation="relu", decoder_activation="tanh"),
    "tanh": dict(activation="tanh"),
}


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("reconstruction", ["plain", "weighted"])
@pytest.mark.parametrize("head", [False, True])
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_numpy_gradients_equal_the_graph_pass(network, reconstruction, head, pairs):
    dim = 5
    keras.utils.set_random_seed(1)
    net = gr.merge_network(
        dim, **NETWORKS[network], kernel_regularizer=keras.regularizers.L1L2(0.01, 0.02)
    )
    rae = gr.RAE(
        network=net,
        pairs=pairs,
        reconstruction=reconstruction,
        classes=3 if head else None,
        replay="numpy",
    )
    randomised(rae, 2)
    labels = np.array([0, 1, 2, -1, 0, 1, -1, 2, 2]) if head else None
    count = passes_agree(rae, sequences(9, dim, 3), labels)
    assert count == (6 if head else 4)


def passes_agree(rae, data, labels):
    """Asserts that the numpy pass gives the graph pass's loss and gradients on
    ``data``; returns how many gradients there are."""
    runner = rae._runner
    assert runner.numpy is not None
    head = labels is not None
    plan = runner.planner(data)
    rows = row_labels(plan, labels, head)
    got_loss, got, _ = runner.numpy.loss_and_gradients(plan, rows, len(data))
    g = runner.gradient_pass.loss_and_gradients(
        Plan(*(tf.constant(a) for a in plan)),
        tf.constant(rows),
        tf.constant(np.float32(len(data))),
        plan.depth,
    )
    assert got_loss == pytest.approx(float(g.loss), rel=1e-5)
    assert len(got) == len(g.weights)
    for mine, theirs in zip(got, g.weights):
        theirs = np.asarray(theirs)
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())
    return len(got)


@pytest.mark.parametrize("reconstruction", ["plain", "weighted"])
@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("decoder", ["linear", "tanh"])
def test_socher_options_give_the_graph_pass_gradients(reconstruction, pairs, decoder):
    # normalised reconstructions, the squared error and a weight on inner
    # nodes, numpy against the graph pass
    dim = 5
    keras.utils.set_random_seed(4)
    rae = gr.RAE(
        dim, activation="tanh", normalize=True, decoder_activation=decoder,
        normalize_reconstruction=True, pairs=pairs, reconstruction=reconstruction,
        classes=3, head_loss="squared", inner_weight=0.5, replay="numpy",
    )  # fmt: skip
    randomised(rae, 5)
    passes_agree(rae, sequences(9, dim, 6), np.array([0, 1, 2, -1, 0, 1, -1, 2, 2]))


@pytest.mark.parametrize("reconstruction", ["plain", "weighted"])
@pytest.mark.parametrize(
    "head_loss, inner_weight, normalize_reconstruction",
    [("cross_entropy", 1.0, False), ("squared", 0.5, True)],
)
def test_both_passes_compute_the_loss_of_its_definition(
    reconstruction, head_loss, inner_weight, normalize_reconstruction
):
    # the loss is written twice, in TensorFlow (losses.py, the graph pass) and fused
    # with its gradients in numpy (numpy_pass.py): both against one plain reference
    from socher_reference import merge_pair, weights_of

    dim, alpha = 4, 0.3
    keras.utils.set_random_seed(5)
    rae = gr.RAE(
        dim, activation="tanh", normalize=True, reconstruction=reconstruction,
        normalize_reconstruction=normalize_reconstruction, classes=3, alpha=alpha,
        head_loss=head_loss, inner_weight=inner_weight, replay="numpy",
    )  # fmt: skip
    randomised(rae, 6)
    data = sequences(7, dim, 8, lo=1, hi=9)
    labels = np.array([0, 2, -1, 1, 1, -1, 0])
    spec = weights_of(rae.network)
    head_w, head_b = (np.asarray(w, np.float64) for w in rae.classifier.get_weights())
    want = 0.0
    for seq, label, tree in zip(data, labels, rae.trees(data)):
        nodes = [np.asarray(x, np.float64) for x in seq]
        count = [1] * len(seq)
        score = 0.0
        for a, b in tree.merges:  # the tree held fixed; every merge from its definition
            h, err = merge_pair(spec, nodes[a], nodes[b], count[a], count[b],
                                reconstruction == "weighted")  # fmt: skip
            nodes.append(h)
            count.append(count[a] + count[b])
            score += err
        loss = alpha * score
        if label >= 0:
            z = np.stack(nodes) @ head_w + head_b
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            if head_loss == "squared":
                errors = 0.5 * ((np.eye(3)[label] - p) ** 2).sum(axis=1)
            else:
                errors = -np.log(np.clip(p[:, label], 1e-7, 1.0))
            weights = [1.0] * len(seq) + [inner_weight] * (len(seq) - 1)  # words, then merges
            loss += (1 - alpha) * (errors * weights).sum()
        want += loss / len(data)
    runner = rae._runner
    plan = runner.planner(data)
    rows = row_labels(plan, labels, True)
    numpy_loss, _, _ = runner.numpy.loss_and_gradients(plan, rows, len(data))
    graph = runner.gradient_pass.loss_and_gradients(
        Plan(*(tf.constant(a) for a in plan)), tf.constant(rows), tf.constant(7.0), plan.depth
    )
    assert numpy_loss == pytest.approx(want, rel=1e-5)
    assert float(graph.loss) == pytest.approx(want, rel=1e-5)
    # evaluate's loss: the same definition over the built trees
    assert rae.evaluate(data, labels=labels)["loss"] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("head_loss, inner_weight", [("cross_entropy", 1.0), ("squared", 0.5)])
def test_numpy_leaf_gradients_equal_the_graph_pass(head_loss, inner_weight):
    # a text RAE trains its word table: each leaf's gradient goes to its row
    words = ["a", "b", "c", "d", "e", "f"]
    keras.utils.set_random_seed(4)
    rae = gr.RAE(
        3,
        vocabulary=words,
        classes=2,
        network=gr.merge_network(3, "tanh", True),
        alpha=0.3,
        head_loss=head_loss,
        inner_weight=inner_weight,
        replay="numpy",
    )
    randomised(rae, 5)
    texts = [np.array(t, np.int32) for t in ([0, 1, 2, 3], [4, 5], [2], [5, 4, 3, 2, 1])]
    labels = np.array([1, 0, -1, 1])
    runner = rae._runner
    assert runner.numpy is not None and runner.numpy.leaf_gradients
    leaves, _ = runner._leaves(texts)
    plan = runner.planner(leaves)
    rows = row_labels(plan, labels, True)
    _, _, mine = runner.numpy.loss_and_gradients(plan, rows, 4)
    g = runner.gradient_pass.loss_and_gradients(
        Plan(*(tf.constant(a) for a in plan)), tf.constant(rows), tf.constant(4.0), plan.depth
    )
    theirs = np.asarray(g.leaves)
    assert mine.shape == theirs.shape == (12, 3)
    np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)


def test_the_replay_option():
    assert gr.RAE(3).replay == "auto"
    # "auto" takes the numpy pass where no GPU is visible, the graph where one is
    no_gpu = not tf.config.list_physical_devices("GPU")
    assert (gr.RAE(3)._runner.numpy is not None) == no_gpu
    assert gr.RAE(3, replay="numpy")._runner.numpy is not None
    assert gr.RAE(3, replay="graph")._runner.numpy is None
    with pytest.raises(ValueError, match="replay must be 'auto', 'numpy' or 'graph', got 'tf'"):
        gr.RAE(3, replay="tf")
    odd = gr.merge_network(3, kernel_regularizer=lambda w: tf.reduce_sum(w**4))
    with pytest.raises(ValueError, match="replay='numpy' needs a network the native engine"):
        gr.RAE(network=odd, replay="numpy")
    with pytest.raises(ValueError, match="replay='numpy' runs on one device"):
        gr.RAE(3, replay="numpy", strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))


def test_the_graph_pass_serves_what_the_numpy_pass_does_not_know():
    dim = 3
    a, b = keras.Input((dim,)), keras.Input((dim,))
    c = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(dim, activation="sigmoid")(c)  # an activation it does not know
    y = keras.layers.Dense(2 * dim)(h)
    custom = keras.Model([a, b], [h, c, y])
    assert gr.RAE(network=custom)._runner.numpy is None
    # a head of two layers
    x = keras.Input((dim,))
    deep = keras.Model(x, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(4)(x)))
    assert gr.RAE(dim, classes=2, classifier=deep)._runner.numpy is None
    # a regularizer it cannot differentiate
    odd = gr.merge_network(dim, kernel_regularizer=lambda w: tf.reduce_sum(w**4))
    assert gr.RAE(network=odd)._runner.numpy is None
    # and the known ones take it
    assert gr.RAE(dim, classes=2, replay="numpy")._runner.numpy is not None


def test_fit_by_either_pass_trains_alike():
    data = sequences(40, 4, 6, lo=2, hi=15)
    labels = np.arange(40) % 2
    histories, weights = [], []
    for graph in (False, True):
        keras.utils.set_random_seed(7)
        rae = gr.RAE(
            4,
            network=gr.merge_network(4, "tanh", True),
            classes=2,
            replay="graph" if graph else "numpy",
        )
        histories.append(
            rae.fit(data, labels=labels, epochs=3, batch_size=16, verbose=0, seed=0)["loss"]
        )
        weights.append([w.numpy() for w in rae._runner.weights])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
    assert histories[0][-1] < histories[0][0]
    for mine, theirs in zip(*weights):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(amsgrad=True, beta_1=0.8, epsilon=1e-4),
        dict(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.05, 1, 0.5)),
    ],
)
def test_numpy_adam_equals_keras_adam(options):
    rng = np.random.default_rng(8)
    start = [rng.normal(size=s).astype(np.float32) for s in [(6, 3), (3,)]]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(4)]
    finals = []
    for ours in (False, True):
        weights = [keras.Variable(w) for w in start]
        optimizer = keras.optimizers.Adam(**options)
        optimizer.build(weights)
        slots = adam_slots(optimizer, weights)
        assert slots is not None
        for g in grads:
            if ours:
                adam_step(optimizer, slots, g, weights)
            else:
                optimizer.apply([tf.constant(x) for x in g], weights)
        assert int(optimizer.iterations.numpy()) == 4
        finals.append([w.numpy() for w in weights] + [v.numpy() for v in optimizer.variables])
    for mine, theirs in zip(finals[1], finals[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_other_optimizers_step_by_their_own_apply():
    weights = [keras.Variable(np.ones((2, 2), np.float32))]
    for optimizer in (
        keras.optimizers.Adam(clipnorm=1.0),
        keras.optimizers.Adam(weight_decay=0.1),
        keras.optimizers.SGD(),
    ):
        assert not plain_adam(optimizer, weights)
        optimizer.build(weights)
        assert adam_slots(optimizer, weights) is None
    # SGD with momentum through fit: the same weights by either pass
    data = sequences(12, 3, 9, lo=2, hi=8)
    finals = []
    for graph in (False, True):
        keras.utils.set_random_seed(3)
        rae = gr.RAE(
            3,
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            replay="graph" if graph else "numpy",
        )
        rae.fit(data, epochs=2, batch_size=4, verbose=0, seed=1)
        finals.append([w.numpy() for w in rae._runner.weights])
    for mine, theirs in zip(*finals):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_a_non_finite_step_is_refused_and_nothing_moves():
    keras.utils.set_random_seed(0)
    rae = gr.RAE(3)
    data = sequences(4, 3, 1, lo=2, hi=6)
    before = [w.numpy() for w in rae._runner.weights]
    rae._runner.weights[0].assign(np.full((6, 3), 1e30, np.float32))
    with pytest.raises(FloatingPointError):
        rae.train_step(data)
    assert int(rae.optimizer.iterations.numpy()) == 0
    assert np.all(rae._runner.weights[0].numpy() == 1e30)
    np.testing.assert_array_equal(rae._runner.weights[1].numpy(), before[1])


def test_one_leaf_sequences_and_a_text_rae_train_alike_by_either_pass():
    # no merges at all: only the head on the leaves has a gradient
    singles = sequences(5, 3, 2, lo=1, hi=2)
    got = []
    for replay in ("numpy", "graph"):
        keras.utils.set_random_seed(2)
        rae = gr.RAE(3, classes=2, replay=replay)
        got.append(rae.loss_and_gradients(singles, labels=[0, 1, 1, 0, -1]))
    assert got[0][0] == pytest.approx(got[1][0], rel=1e-6) and got[0][0] > 0
    for mine, theirs in zip(got[0][1], got[1][1]):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-7)
    # a text RAE: its table's rows, their lazy Adam and its regularizer
    texts = ["a b c d", "e f", "c", "f e d c b", "a a b"] * 4
    labels = np.arange(20) % 2
    tables, histories, starts = [], [], []
    for replay in ("numpy", "graph"):
        keras.utils.set_random_seed(3)
        rae = gr.RAE(
            4,
            vocabulary=["a", "b", "c", "d", "e", "f"],
            classes=2,
            embeddings_regularizer=keras.regularizers.L2(0.01),
            replay=replay,
        )
        starts.append(rae._table.values())
        history = rae.fit(texts, labels=labels, epochs=3, batch_size=8, verbose=0, seed=0)
        histories.append(history["loss"])
        tables.append(rae._table.values())
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    np.testing.assert_allclose(tables[0], tables[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(starts[0], starts[1])
    assert np.abs(tables[0] - starts[0]).max() > 1e-3  # the rows moved
