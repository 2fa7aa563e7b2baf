"""Full-batch L-BFGS (optimizer="lbfgs"): the whole training set's loss, in pieces."""

import greedy_rae as gr
import keras
import numpy as np
import pytest
import tensorflow as tf


def data(count=40, dim=5, seed=0):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(n), dim)).astype(np.float32) for n in rng.integers(2, 12, count)]
    return seqs, rng.integers(0, 2, count)


def fresh(seed=0, **options):
    keras.utils.set_random_seed(seed)
    options = {"activation": "tanh", "normalize": True, "classes": 2, **options}
    return gr.RAE(5, optimizer="lbfgs", pairs="adjacent", **options)


def test_iterations_lower_the_full_batch_loss_and_the_history_is_its_value():
    seqs, y = data()
    rae = fresh()
    before = rae.evaluate(seqs, labels=y)["loss"]
    history = rae.fit(seqs, labels=y, epochs=6, batch_size=8, verbose=0)
    losses = history["loss"]
    assert 1 <= len(losses) <= 6
    assert losses[0] < before
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:]))  # a line search never rises
    # the last entry is the loss of the final weights over the whole set
    assert rae.evaluate(seqs, labels=y)["loss"] == pytest.approx(losses[-1], rel=1e-5)


def test_pieces_do_not_change_the_search():
    seqs, y = data(30, seed=1)
    finals = []
    for piece in (4, 1000):
        rae = fresh(3)
        rae.fit(seqs, labels=y, epochs=3, batch_size=piece, verbose=0)
        finals.append([w.numpy() for w in rae.trainable_weights])
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)


def test_the_first_step_follows_the_full_batch_gradient():
    # L-BFGS's first step is along minus the gradient: the weights move by a
    # multiple of the full-batch gradient of loss_and_gradients
    seqs, y = data(25, seed=2)
    rae = fresh(4)
    start = [w.numpy().copy() for w in rae.trainable_weights]
    _, grads = rae.loss_and_gradients(seqs, labels=y)
    g = np.concatenate([np.asarray(x).ravel() for x in grads])
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            [w.numpy().copy() for w in rae.trainable_weights]
        )
    )
    rae.fit(seqs, labels=y, epochs=1, batch_size=7, verbose=0, callbacks=[record])
    step = np.concatenate([(a - b).ravel() for a, b in zip(seen[0], start)])
    cosine = -step @ g / (np.linalg.norm(step) * np.linalg.norm(g))
    assert cosine == pytest.approx(1.0, abs=1e-4)


def test_a_text_rae_trains_its_table():
    texts = ["a good film", "a bad film", "good and fine", "bad and dull"] * 3
    y = np.array([1, 0, 1, 0] * 3)
    keras.utils.set_random_seed(0)
    vocab = gr.Vocabulary.from_texts(texts)
    rae = gr.RAE(4, vocabulary=vocab, classes=2, optimizer="lbfgs", activation="tanh")
    table = rae.embeddings
    history = rae.fit(texts, labels=y, epochs=5, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    moved = np.any(rae.embeddings != table, axis=1)
    assert moved[vocab.ids(["good", "bad", "film"])].all()


def test_early_stopping_ends_the_search():
    seqs, y = data(20, seed=3)
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=0)
    history = fresh().fit(seqs, labels=y, epochs=10, verbose=0, callbacks=[stop])
    assert len(history["loss"]) == 2


def test_settings_that_mean_nothing_to_lbfgs_are_refused(tmp_path):
    seqs, y = data(10)
    rae = fresh()
    with pytest.raises(ValueError, match="takes no minibatch steps"):
        rae.train_step(seqs, labels=y)
    with pytest.raises(ValueError, match="checkpoint_dir does not apply"):
        rae.fit(seqs, labels=y, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="ReduceLROnPlateau sets a learning rate"):
        rae.fit(seqs, labels=y, callbacks=[keras.callbacks.ReduceLROnPlateau()], verbose=0)
    with pytest.raises(ValueError, match="optimizer must be a Keras optimizer or 'lbfgs'"):
        gr.RAE(5, optimizer="bfgs")
    with pytest.raises(ValueError, match="runs on one device"):
        gr.RAE(5, optimizer="lbfgs", strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))


def test_a_non_finite_point_keeps_the_last_iterations_weights(monkeypatch):
    seqs, y = data(16, seed=5)
    rae = fresh(6)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            [w.numpy().copy() for w in rae.trainable_weights]
        )
    )
    real = rae._runner.loss_and_gradients
    calls = {"n": 0}

    def failing(seqs, labels):  # the fourth evaluation's point overflows
        calls["n"] += 1
        loss, grads = real(seqs, labels)
        return (float("inf") if calls["n"] == 4 else loss), grads

    monkeypatch.setattr(rae._runner, "loss_and_gradients", failing)
    with pytest.raises(FloatingPointError, match="weights are those of the last iteration"):
        rae.fit(seqs, labels=y, epochs=10, batch_size=100, verbose=0, callbacks=[record])
    assert seen  # some iterations were made before the bad point
    for w, kept in zip(rae.trainable_weights, seen[-1]):
        np.testing.assert_array_equal(w.numpy(), kept)


def test_estimators_and_the_command_line_take_lbfgs(tmp_path, capsys):
    from greedy_rae.cli import main
    from greedy_rae.sklearn import RAEClassifier

    seqs, y = data(24, seed=7)
    clf = RAEClassifier(optimizer="lbfgs", epochs=3, random_state=0).fit(seqs, y)
    assert clf.encoder_.rae_.full_batch and clf.predict(seqs).shape == (24,)
    with pytest.raises(ValueError, match="learning_rate is Adam's"):
        RAEClassifier(optimizer="lbfgs", learning_rate=0.1).fit(seqs, y)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'lbfgs'"):
        RAEClassifier(optimizer="sgd").fit(seqs, y)
    np.savez(tmp_path / "s.npz", *seqs)
    model = str(tmp_path / "m.keras")
    args = ["fit", str(tmp_path / "s.npz"), "-o", model, "--optimizer", "lbfgs", "--epochs", "2"]
    assert main(args) == 0
    assert "Epoch 2/2" in capsys.readouterr().out
    assert main([*args, "--learning-rate", "0.1"]) == 2
    assert "--learning-rate is Adam's" in capsys.readouterr().err


def test_socher_s_objective_options_and_preset():
    # l2: lambda / 2 * |w|^2 on each part, in the loss
    seqs, y = data(12, seed=8)
    keras.utils.set_random_seed(0)
    plain = gr.RAE(5, activation="tanh", normalize=True, classes=2, replay="numpy")
    keras.utils.set_random_seed(0)
    decayed = gr.RAE(5, activation="tanh", normalize=True, classes=2, l2=(0.3, 0.0, 0.5))
    base, _ = plain.loss_and_gradients(seqs, labels=y)
    loss, _ = decayed.loss_and_gradients(seqs, labels=y)
    kernels = [
        decayed.network.get_layer("encode").kernel,
        decayed.network.get_layer("decode").kernel,
    ]
    want = base + 0.15 * sum(float(np.sum(k.numpy() ** 2)) for k in kernels)
    want += 0.25 * float(np.sum(decayed.classifier.layers[-1].kernel.numpy() ** 2))
    assert loss == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="l2 must be three non-negative numbers"):
        gr.RAE(5, l2=(1e-5, 1e-4))
    # the word table regularised toward its start: no penalty until it moves
    texts = ["a good film", "a bad film"] * 4
    labels = np.array([1, 0] * 4)
    vocab = gr.Vocabulary.from_texts(texts)
    keras.utils.set_random_seed(1)
    anchored = gr.RAE(4, vocabulary=vocab, classes=2, l2=(0.0, 10.0, 0.0), embeddings_anchor=True)
    keras.utils.set_random_seed(1)
    free = gr.RAE(4, vocabulary=vocab, classes=2)
    assert anchored.loss_and_gradients(texts, labels)[0] == pytest.approx(
        free.loss_and_gradients(texts, labels)[0], rel=1e-6
    )
    with pytest.raises(ValueError, match="give an embeddings_regularizer"):
        gr.RAE(4, vocabulary=vocab, embeddings_anchor=True)
    # the preset, and a name that does not exist
    rae = gr.RAE.from_preset("socher2011", classes=2, vocabulary=vocab)
    assert (rae.dim, rae.pairs, rae.reconstruction, rae.alpha, rae.full_batch) == (
        50, "adjacent", "plain", 0.2, True,
    )  # fmt: skip
    assert (rae.head_loss, rae.inner_weight) == ("squared", 0.5)
    assert rae._table.start is not None
    history = rae.fit(texts, labels=labels, epochs=2, verbose=0)
    assert len(history["loss"]) == 2
    with pytest.raises(ValueError, match="preset must be 'socher2011', got 'socher'"):
        gr.RAE.from_preset("socher")
