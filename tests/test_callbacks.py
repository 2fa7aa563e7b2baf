"""Keras's own callbacks in ``fit``: their model is the whole RAE (network and head)."""

import http.server
import json
import threading

import greedy_rae as gr
import keras
import numpy as np
import pytest

EPOCHS = 3


def data(seed=0, count=24):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(int(n), 4)).astype(np.float32) for n in rng.integers(2, 12, count)]
    return seqs, rng.integers(0, 2, count)


def fresh(**options):
    keras.utils.set_random_seed(0)
    return gr.RAE(4, classes=2, activation="tanh", normalize=True, **options)


def all_weights(rae):
    return rae.network.get_weights() + rae.classifier.get_weights()


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_early_stopping_restores_the_head_too():
    seqs, y = data()
    rae = fresh()
    snapshots = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append(all_weights(rae))
    )
    # no later epoch counts as better than the first: stop after the second,
    # and go back to the first epoch's weights
    stop = keras.callbacks.EarlyStopping(
        monitor="loss", patience=1, min_delta=1e9, restore_best_weights=True
    )
    hist = rae.fit(seqs, labels=y, epochs=5, verbose=0, callbacks=[record, stop])
    assert len(hist["loss"]) == 2
    assert_weights_equal(all_weights(rae), snapshots[0])
    # the head moved in the second epoch, so restoring it was not a no-op
    assert not np.array_equal(snapshots[0][-1], snapshots[1][-1])


def test_model_checkpoint_file_loads_as_the_whole_rae(tmp_path):
    seqs, y = data()
    rae = fresh(pairs="adjacent", reconstruction="weighted", alpha=0.3)
    path = tmp_path / "best.keras"
    rae.fit(
        seqs,
        labels=y,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.ModelCheckpoint(str(path))],
    )
    back = gr.RAE.load(path)
    assert (back.pairs, back.reconstruction, back.classes, back.alpha) == (
        "adjacent",
        "weighted",
        2,
        0.3,
    )
    assert_weights_equal(all_weights(back), all_weights(rae))
    np.testing.assert_array_equal(back.predict_proba(seqs), rae.predict_proba(seqs))


def test_model_checkpoint_weights_only(tmp_path):
    seqs, y = data()
    rae = fresh()
    path = tmp_path / "rae.weights.h5"
    cb = keras.callbacks.ModelCheckpoint(str(path), save_weights_only=True)
    rae.fit(seqs, labels=y, epochs=EPOCHS, verbose=0, callbacks=[cb])
    other = fresh()
    other.fit(seqs[:2], labels=y[:2], epochs=1, verbose=0)  # other weights
    other.keras_model.load_weights(str(path))
    assert_weights_equal(all_weights(other), all_weights(rae))


def test_learning_rate_callbacks_reach_the_optimizer():
    seqs, y = data()
    rae = fresh(optimizer=keras.optimizers.Adam(0.01))
    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    rae.fit(seqs, labels=y, epochs=EPOCHS, verbose=0, callbacks=[halve])
    assert float(rae.optimizer.learning_rate) == pytest.approx(0.01 * 0.5**EPOCHS)

    rae = fresh(optimizer=keras.optimizers.Adam(0.01))
    # after the first epoch nothing counts as better: the rate drops after
    # each later epoch
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", patience=0, factor=0.5, min_delta=1e9, min_lr=0.0
    )
    rae.fit(seqs, labels=y, epochs=EPOCHS, verbose=0, callbacks=[plateau])
    assert float(rae.optimizer.learning_rate) == pytest.approx(0.01 * 0.5 ** (EPOCHS - 1))


def test_logging_callbacks(tmp_path):
    seqs, y = data()
    rae = fresh()
    history = keras.callbacks.History()
    seen = []
    cbs = [
        history,
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch)),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ProgbarLogger(),
    ]
    hist = rae.fit(seqs, labels=y, epochs=EPOCHS, verbose=0, callbacks=cbs)
    assert history.history["loss"] == hist["loss"]
    assert seen == list(range(EPOCHS))
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["epoch", "loss"] and len(lines) == EPOCHS + 1


@pytest.mark.slow
def test_tensorboard_writes_events(tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard is in the test extra")
    seqs, y = data()
    rae = fresh()
    cb = keras.callbacks.TensorBoard(str(tmp_path / "tb"), histogram_freq=1)
    rae.fit(seqs, labels=y, epochs=2, verbose=0, callbacks=[cb])
    events = list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)


@pytest.mark.slow
def test_remote_monitor_posts_every_epoch():
    pytest.importorskip("requests", reason="requests is in the test extra")
    posted = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            posted.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        seqs, y = data()
        rae = fresh()
        root = f"http://127.0.0.1:{server.server_address[1]}"
        cb = keras.callbacks.RemoteMonitor(root=root, send_as_json=True)
        hist = rae.fit(seqs, labels=y, epochs=EPOCHS, verbose=0, callbacks=[cb])
    finally:
        server.shutdown()
    losses = [json.loads(p)["loss"] for p in posted]
    assert losses == pytest.approx(hist["loss"])


@pytest.mark.slow
def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    seqs, y = data()

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    backup = str(tmp_path / "backup")
    rae = fresh()
    with pytest.raises(KeyboardInterrupt):
        rae.fit(
            seqs,
            labels=y,
            epochs=4,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt()],
        )
    saved = all_weights(rae)  # written at the end of epoch 1, before the interruption
    again = fresh()
    epochs = []
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    restore = keras.callbacks.BackupAndRestore(backup)
    starts = []
    first = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: None,
        on_epoch_begin=lambda e, logs: starts.append(all_weights(again)) if e == 2 else None,
    )
    again.fit(seqs, labels=y, epochs=4, verbose=0, callbacks=[restore, record, first])
    assert epochs == [2, 3]  # the two epochs left
    assert_weights_equal(starts[0], saved)


def test_swap_ema_weights():
    seqs, y = data()
    rae = fresh(optimizer=keras.optimizers.Adam(0.01, use_ema=True))
    rae.fit(seqs, labels=y, epochs=2, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    # the EMA weights were swapped in for the epoch ends and back out
    assert all(np.isfinite(w).all() for w in all_weights(rae))
    ema = [v.numpy() for v in rae.optimizer._model_variables_moving_average]
    assert not np.array_equal(ema[0], rae.network.get_weights()[0])
