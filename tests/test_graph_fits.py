"""The graph path traces once per configuration: no retracing, no growth, and
no model kept alive by the compiled functions' cache."""

import gc
import logging
import weakref

import greedy_rae as gr
import keras
import numpy as np
import pytest
import tensorflow as tf
from greedy_rae.build.plan import Plan
from greedy_rae.replay import local
from greedy_rae.replay.numpy_adam import AdamSlots, adam_slots, adam_step
from greedy_rae.replay.runner import row_labels


def data(count, seed, lo=2, hi=20, dim=5):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(n), dim)).astype(np.float32) for n in rng.integers(lo, hi, count)]
    return seqs, rng.integers(0, 3, count)


def fresh(seed=0, **options):
    keras.utils.set_random_seed(seed)
    options = {"activation": "tanh", "normalize": True, "classes": 3, **options}
    return gr.RAE(5, replay="graph", **options)


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_no_retracing_warnings_over_many_lengths_and_models():
    caught = Warnings()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(caught)
    try:
        rng = np.random.default_rng(0)
        for n in range(2, 40, 3):  # a fresh network each time, the TF scorer
            net = gr.merge_network(4, "tanh", True)
            x = rng.normal(size=(n, 4)).astype(np.float32)
            gr.greedy_tree(x, net, "all", scorer="tf")
            gr.greedy_tree(x, net, "adjacent", "weighted", scorer="tf")
        for seed in range(6):  # fresh RAEs of one configuration, many depths
            seqs, y = data(12, seed, lo=2, hi=4 + 10 * seed)
            fresh(seed).fit(seqs, labels=y, epochs=1, batch_size=4, verbose=0)
    finally:
        logger.removeHandler(caught)
    assert not [m for m in caught.messages if "retracing" in m], caught.messages


def test_a_second_rae_of_a_configuration_traces_nothing():
    seqs, y = data(30, 1)
    fresh(0).fit(seqs, labels=y, epochs=2, batch_size=8, verbose=0, seed=0)
    shared = {key: dict(value.functions) for key, value in local._SHARED.items()}
    other = fresh(1)
    other.fit(seqs, labels=y, epochs=2, batch_size=8, verbose=0, seed=0)
    assert {key: dict(value.functions) for key, value in local._SHARED.items()} == shared
    assert other._runner._functions == {}  # nothing of its own was compiled
    # another configuration gets functions of its own
    fresh(0, reconstruction="weighted").fit(seqs, labels=y, epochs=1, verbose=0)
    assert len(local._SHARED) > len(shared)


@pytest.mark.parametrize("options", [{}, {"pairs": "adjacent", "reconstruction": "weighted"}])
def test_the_shared_pass_gives_the_instances_own_gradients(options):
    # the configuration's pass (weights as arguments) against this RAE's own
    # compiled pass (weights captured), on one plan
    seqs, y = data(9, 2)
    rae = fresh(3, **options)
    runner = rae._runner
    plan = runner.planner(seqs)
    shared = runner._shared_gradients()
    assert shared is not None
    loss, grads, finite = runner._shared_call(shared, plan, y, len(seqs))
    own = runner._function(plan.depth, False)(
        Plan(*(tf.constant(a) for a in plan)),
        tf.constant(row_labels(plan, y, True)),
        tf.constant(np.float32(len(seqs))),
        tf.constant(np.zeros(0, np.int32)),
    )
    assert finite and bool(own[4])
    assert loss == pytest.approx(float(own[0]), rel=1e-6)
    for mine, theirs in zip(grads, own[1]):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "settings",
    [
        dict(learning_rate=0.01),
        dict(amsgrad=True, beta_1=0.8, epsilon=1e-4),
        dict(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.05, 1, 0.5)),
    ],
)
def test_the_compiled_adam_step_is_the_numpy_adam_step(settings):
    # a training step by the configuration's one compiled call (pass and Adam)
    # against the shared pass's gradients stepped by the numpy Adam, which
    # tests/test_numpy_pass.py pins to Keras's own apply
    seqs, y = data(9, 8)
    ours, reference = (fresh(4, optimizer=keras.optimizers.Adam(**settings)) for _ in range(2))
    for _ in range(3):
        ours._runner.train_step(seqs, y)
        runner = reference._runner
        runner._build_optimizer()
        shared = runner._shared_gradients()
        loss, grads, finite = runner._shared_call(shared, runner.planner(seqs), y, len(seqs))
        assert finite
        adam_step(
            runner.optimizer, adam_slots(runner.optimizer, runner.weights), grads, runner.weights
        )
    assert isinstance(ours._runner._adam, AdamSlots)  # it took the compiled Adam step
    assert int(ours._runner.optimizer.iterations.numpy()) == 3
    for mine, theirs in zip(
        [*ours._runner.weights, *ours._runner.optimizer.variables],
        [*reference._runner.weights, *reference._runner.optimizer.variables],
    ):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), rtol=1e-6, atol=1e-7)


def test_a_non_finite_step_leaves_the_weights_as_they_were():
    seqs, y = data(6, 9)
    rae = fresh(5)
    rae.fit(seqs, labels=y, epochs=1, verbose=0)
    before = [
        np.asarray(w).copy() for w in [*rae._runner.weights, *rae._runner.optimizer.variables]
    ]
    bad = [s.copy() for s in seqs]
    bad[0][0, 0] = np.float32(3e38)  # finite input whose squares overflow
    with pytest.raises(FloatingPointError):
        rae._runner.train_step(bad, y)
    after = [np.asarray(w) for w in [*rae._runner.weights, *rae._runner.optimizer.variables]]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_the_cache_keeps_no_model_alive():
    seqs, y = data(10, 4)
    rae = fresh(5)
    rae.fit(seqs, labels=y, epochs=1, verbose=0)
    net = gr.merge_network(5, "relu", False)  # built by the TF scorer
    gr.greedy_tree(seqs[0], net, scorer="tf")
    refs = [weakref.ref(rae.network), weakref.ref(rae), weakref.ref(net)]
    del rae, net
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


class Scaled(keras.layers.Layer):
    """A layer whose get_config leaves its setting out: two of them describe alike."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        return x * self.scale

    def get_config(self):
        config = super().get_config()
        config.pop("scale", None)  # (Keras would keep the constructor's arguments)
        return config


def scaled_network(dim, scale):
    a, b = keras.Input((dim,)), keras.Input((dim,))
    c = keras.layers.Concatenate()([a, b])
    h = Scaled(scale)(keras.layers.Dense(dim, activation="sigmoid")(c))
    return keras.Model([a, b], [h, c, keras.layers.Dense(2 * dim)(h)])


def test_a_model_its_template_cannot_stand_for_keeps_its_own_functions():
    seqs, _ = data(6, 7, dim=3)
    keras.utils.set_random_seed(0)
    first = gr.RAE(network=scaled_network(3, 1.0), replay="graph")
    first.loss_and_gradients(seqs)
    assert first._runner._shared_gradients() is not None  # its clone is right: scale 1
    keras.utils.set_random_seed(0)
    other = gr.RAE(network=scaled_network(3, 5.0), replay="graph")
    assert other._runner._shared_gradients() is None  # its template would compute x * 1
    loss, grads = other.loss_and_gradients(seqs)
    tree = gr.greedy_tree(seqs[0], other.network, scorer="tf")
    # the TF scorer's trees are those of the network's own call: the root is a parent
    a, b = tree.embeddings[tree.merges[-1][0]], tree.embeddings[tree.merges[-1][1]]
    h = other.network([a[None], b[None]])[0].numpy()[0]
    np.testing.assert_allclose(tree.embeddings[-1], h, rtol=1e-5)
    assert np.isfinite(loss) and all(np.isfinite(g.numpy()).all() for g in grads)
