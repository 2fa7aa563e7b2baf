"""``fit``: epochs of minibatches, history, callbacks, validation and resume."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import numpy as np

from greedy_rae import checkpoint
from greedy_rae._inputs import Labelled
from greedy_rae.replay import Runner


class Trainee(NamedTuple):
    """What ``fit`` needs of an RAE, handed over by the RAE itself."""

    runner: Runner  # steps and the optimizer's state
    model: keras.Model  # the whole RAE as a Keras model, for callbacks and checkpoints
    # mean loss and accuracy (nan without labels) of checked sequences
    evaluate: Callable[[list[np.ndarray], np.ndarray | None], tuple[float, float]]
    pairs: str
    on_step: Callable[[], None]  # told after every step (the RAE marks itself trained)


def _run_arguments(
    data: Labelled, batch_size: int, shuffle: bool, seed: int | None, pairs: str
) -> dict[str, Any]:
    """What a checkpoint must have been written with to be resumed by this fit."""
    y = data.labels
    return {
        "sequences": len(data.sequences),
        "leaves": int(sum(len(x) for x in data.sequences)),
        "batch_size": int(batch_size),
        "shuffle": bool(shuffle),
        "seed": seed,
        "pairs": pairs,
        "labels": None if y is None else hashlib.sha1(y.tobytes()).hexdigest(),
    }


def validation_logs(trainee: Trainee, val: Labelled) -> dict[str, float]:
    """``val_loss`` (and ``val_accuracy`` with labels) of the current weights."""
    loss, accuracy = trainee.evaluate(val.sequences, val.labels)
    logs = {"val_loss": loss}
    if val.labels is not None:
        logs["val_accuracy"] = accuracy
    return logs


def callback_list(
    callbacks: list[Any] | None, model: keras.Model, verbose: int, epochs: int, steps: int
) -> keras.callbacks.CallbackList:
    """Keras's callbacks as ``keras.Model.fit`` runs them (a progress bar unless
    ``verbose=0``; the caller keeps the history), the model's stop flag cleared."""
    cbs = keras.callbacks.CallbackList(
        callbacks,
        add_history=False,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )
    model.stop_training = False
    return cbs


def fit(
    trainee: Trainee,
    data: Labelled,
    *,
    epochs: int,
    batch_size: int,
    verbose: int,
    shuffle: bool,
    seed: int | None,
    validation: Labelled | None,
    callbacks: list[keras.callbacks.Callback] | None,
    checkpoint_dir: str | os.PathLike[str] | None,
) -> dict[str, list[float]]:
    """Train on checked sequences (see :meth:`RAE.fit`)."""
    seqs, y = data
    runner = trainee.runner
    rng = np.random.default_rng(seed)
    batches = (len(seqs) + batch_size - 1) // batch_size
    history: dict[str, list[float]] = {"loss": []}
    if validation is not None:
        history["val_loss"] = []
        if validation.labels is not None:
            history["val_accuracy"] = []
    model = trainee.model
    run = _run_arguments(data, batch_size, shuffle, seed, trainee.pairs)
    first_epoch = 0
    if checkpoint_dir is not None:
        state = checkpoint.resume(checkpoint_dir, model, runner.optimizer_variables(), run)
        if state is not None:
            rng.bit_generator.state = state["rng"]
            for key in history:
                history[key].extend(state["history"].get(key, []))
            first_epoch = int(state["epoch"])
    cbs = callback_list(callbacks, model, verbose, epochs, batches)
    model._initial_epoch = None
    cbs.on_train_begin()
    # BackupAndRestore sets where an interrupted run resumes
    first_epoch = max(first_epoch, model._initial_epoch or 0)
    for epoch in range(first_epoch, epochs):
        order = rng.permutation(len(seqs)) if shuffle else np.arange(len(seqs))
        cbs.on_epoch_begin(epoch)
        total = 0.0
        for b in range(batches):
            cbs.on_train_batch_begin(b)
            chosen = order[b * batch_size : (b + 1) * batch_size]
            batch = [seqs[i] for i in chosen]
            loss = runner.train_step(batch, None if y is None else y[chosen])
            trainee.on_step()
            total += loss * len(batch)
            cbs.on_train_batch_end(b, {"loss": total / min(len(seqs), (b + 1) * batch_size)})
        logs: dict[str, float] = {"loss": total / len(seqs)}
        if validation is not None:
            logs.update(validation_logs(trainee, validation))
        for key, logged in logs.items():
            history[key].append(logged)
        if checkpoint_dir is not None and runner.is_chief:
            state = dict(run, epoch=epoch + 1, rng=rng.bit_generator.state, history=history)
            checkpoint.write(checkpoint_dir, model, runner.optimizer_variables(), state)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end({k: v[-1] for k, v in history.items() if v})
    return history
