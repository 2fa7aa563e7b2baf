"""``fit`` by full-batch L-BFGS: the optimizer of Socher et al.'s released code
(minFunc's L-BFGS, 70 iterations), of jrae and of RAEcpp.

Every function evaluation builds the trees of the whole training set with the
current weights and takes the loss (the mean over the sequences, plus the
weight penalties) and its gradient with respect to every trainable weight:
the network's, the head's and a text RAE's word table. It does so in pieces
of ``batch_size`` sequences (a minibatch's work each), so memory stays that of
one minibatch; the pieces' losses and gradients are averaged by their sizes.
scipy's ``minimize(method="L-BFGS-B")`` then chooses the steps; one iteration
may evaluate the function more than once (its line search).

``fit(epochs=N)`` runs at most N iterations. Keras's callbacks and the history
see each iteration as an epoch; ``EarlyStopping`` stops the search. A loss or
gradient that is not finite stops it too, with the weights of the last
iteration (``FloatingPointError``). The curvature pairs live inside scipy's
minimizer and are not saved, so there are no checkpoints to resume from: a
restarted search would not repeat an uninterrupted one (``ModelCheckpoint``
keeps the weights of each iteration).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae._inputs import Labelled
from greedy_rae._variables import read, write
from greedy_rae.trainer import callback_list

NAME = "lbfgs"

# callbacks that set a learning rate: L-BFGS has none
_RATE_CALLBACKS = (keras.callbacks.LearningRateScheduler, keras.callbacks.ReduceLROnPlateau)


class _Stop(Exception):
    """Raised inside the objective: the loss or a gradient is not finite."""


def check_callbacks(callbacks: list[keras.callbacks.Callback] | None) -> None:
    for cb in callbacks or []:
        if isinstance(cb, _RATE_CALLBACKS):
            raise ValueError(
                f"{type(cb).__name__} sets a learning rate, which full-batch L-BFGS does not"
                " have (its line search chooses each step): remove it, or train with a Keras"
                " optimizer"
            )


def fit(
    weights: list[Any],
    loss_and_gradients: Callable[[list[np.ndarray], np.ndarray | None], tuple[float, list[Any]]],
    data: Labelled,
    *,
    iterations: int,
    piece: int,
    verbose: int,
    validation_logs: Callable[[], dict[str, float]] | None,
    model: keras.Model,
    callbacks: list[keras.callbacks.Callback] | None,
    on_step: Callable[[], None],
) -> dict[str, list[float]]:
    """Run up to ``iterations`` L-BFGS iterations on the whole of ``data``."""
    from scipy.optimize import minimize

    check_callbacks(callbacks)
    seqs, y = data
    shapes = [tuple(w.shape) for w in weights]
    sizes = [int(np.prod(s)) for s in shapes]
    starts = np.cumsum([0, *sizes])

    def put(x: np.ndarray) -> None:
        for w, s, a, b in zip(weights, shapes, starts[:-1], starts[1:]):
            write(w, np.asarray(x[a:b], dtype=np.float32).reshape(s))

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        put(x)
        total = 0.0
        grad = np.zeros(len(x), dtype=np.float64)
        for s in range(0, len(seqs), piece):
            part = seqs[s : s + piece]
            try:
                loss, grads = loss_and_gradients(part, None if y is None else y[s : s + piece])
            except FloatingPointError:
                raise _Stop from None
            share = len(part) / len(seqs)
            total += loss * share
            for g, a, b in zip(grads, starts[:-1], starts[1:]):
                grad[a:b] += share * np.asarray(tf.convert_to_tensor(g), np.float64).reshape(-1)
        if not math.isfinite(total) or not np.isfinite(grad).all():
            raise _Stop
        return total, grad

    history: dict[str, list[float]] = {"loss": []}
    cbs = callback_list(callbacks, model, verbose, iterations, 1)
    x0 = np.concatenate([read(w).reshape(-1).astype(np.float64) for w in weights])
    best = x0.copy()
    state = {"iteration": 0, "loss": math.nan}

    def each_iteration(intermediate_result: Any) -> None:
        x, loss = intermediate_result.x, float(intermediate_result.fun)
        best[:] = x
        put(x)  # the line search may have left other weights in place
        on_step()
        k = state["iteration"]
        logs = {"loss": loss}
        if validation_logs is not None:
            logs.update(validation_logs())
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        cbs.on_train_batch_end(0, {"loss": loss})
        cbs.on_epoch_end(k, logs)
        state["iteration"] = k + 1
        if model.stop_training:
            raise StopIteration
        if k + 1 < iterations:
            cbs.on_epoch_begin(k + 1)
            cbs.on_train_batch_begin(0)

    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_begin(0)
    try:
        minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=each_iteration,
            options={"maxiter": iterations, "maxfun": 20 * iterations, "gtol": 0.0, "ftol": 0.0},
        )
    except _Stop:
        put(best)
        raise FloatingPointError(
            f"the loss or a gradient is not finite at a point of L-BFGS's line search after"
            f" {state['iteration']} iterations; the weights are those of the last iteration"
        ) from None
    put(best)
    cbs.on_train_end({k: v[-1] for k, v in history.items() if v})
    return history
