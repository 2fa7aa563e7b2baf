"""Keras's Adam step in numpy, for the numpy replay (see
:mod:`greedy_rae.replay.numpy_pass`): the same operations in the same order as
``keras.optimizers.Adam.update_step``, on the optimizer's own moments and step
count, so checkpoints, callbacks that change the learning rate and Keras's own
saving all see the state Keras would have.

Only Keras's public API is used. Which of ``optimizer.variables`` is the first
or second moment of which weight is found by value, not by Keras's private
fields: a scratch copy of the optimizer (``from_config``) takes two steps of
known gradients, and each of its variables is matched to the formula's value
(:func:`adam_slots`). When that fails (a Keras whose Adam differs), the numpy
replay steps the optimizer by its own ``apply`` instead, and a test pins the
numpy step to Keras's own ``apply``, so a change cannot go unnoticed.

The graph replay's shared step (:mod:`greedy_rae.replay.local`) takes the same
step as graph code (:func:`graph_adam_step`), pinned by a test to this one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from greedy_rae._variables import current_rate, handle, read, write


class AdamSlots(NamedTuple):
    """Each weight's moment variables among ``optimizer.variables``."""

    momentums: list[Any]
    velocities: list[Any]
    velocity_hats: list[Any] | None  # with amsgrad


def plain_adam(optimizer: keras.optimizers.Optimizer, weights: list[Any]) -> bool:
    """Whether ``optimizer`` is Keras's Adam with nothing :func:`adam_step` leaves
    out (no clipping, weight decay, moving average, gradient accumulation, loss
    scale or weight constraints)."""
    return (
        type(optimizer) is keras.optimizers.Adam
        and optimizer.clipnorm is None
        and optimizer.clipvalue is None
        and optimizer.global_clipnorm is None
        and optimizer.weight_decay is None
        and not optimizer.use_ema
        and not optimizer.gradient_accumulation_steps
        and optimizer.loss_scale_factor is None
        and all(
            getattr(w, "constraint", None) is None
            and not getattr(w, "overwrite_with_gradient", False)
            for w in weights
        )
    )


def adam_slots(optimizer: keras.optimizers.Optimizer, weights: list[Any]) -> AdamSlots | None:
    """The moment variables of each weight in the built ``optimizer``, found by
    value; None when ``optimizer`` is not a plain Adam (:func:`plain_adam`) or
    its variables cannot be told apart.

    A scratch copy of the optimizer, built on zero weights of the same shapes,
    takes a step with gradient ``k + 1`` on weight ``k`` and then a step with
    zero gradients: its first moment of weight ``k`` is then ``beta_1 (1 -
    beta_1) (k + 1)``, its second ``beta_2 (1 - beta_2) (k + 1)^2`` and, with
    amsgrad, its largest second moment ``(1 - beta_2) (k + 1)^2``. The copy
    builds its variables in the optimizer's order, so the positions found there
    are the optimizer's own."""
    if not plain_adam(optimizer, weights) or len({optimizer.beta_1, optimizer.beta_2, 0}) < 3:
        return None
    # the positions depend only on the settings and the weights' shapes: found once
    key = (
        json.dumps(
            {k: v for k, v in optimizer.get_config().items() if k != "name"},
            sort_keys=True,
            default=repr,
        ),
        tuple(tuple(w.shape) for w in weights),
        len(optimizer.variables),
    )
    if key not in _POSITIONS:
        _POSITIONS[key] = _positions(optimizer, weights)
    positions = _POSITIONS[key]
    if positions is None:
        return None
    theirs = optimizer.variables
    return AdamSlots(
        [theirs[p] for p in positions.momentums],
        [theirs[p] for p in positions.velocities],
        None if positions.velocity_hats is None else [theirs[p] for p in positions.velocity_hats],
    )


# the slots' positions among an optimizer's variables, by its settings and weights' shapes
_POSITIONS: dict[tuple[str, tuple[tuple[int, ...], ...], int], AdamSlots | None] = {}


def _positions(optimizer: keras.optimizers.Optimizer, weights: list[Any]) -> AdamSlots | None:
    """:func:`adam_slots`' positions (ints) in ``optimizer.variables``, by the probe."""
    probe = keras.optimizers.Adam.from_config(optimizer.get_config())
    scratch = [keras.Variable(np.zeros(w.shape, np.float32), trainable=True) for w in weights]
    probe.build(scratch)
    probe.apply([np.full(w.shape, k + 1, np.float32) for k, w in enumerate(weights)], scratch)
    probe.apply([np.zeros(w.shape, np.float32) for w in weights], scratch)
    mine = probe.variables
    if len(mine) != len(optimizer.variables):
        return None
    b1, b2 = float(optimizer.beta_1), float(optimizer.beta_2)
    # the value each kind of slot holds for the gradient c, after the two steps
    wanted: dict[str, Callable[[float], float]] = {
        "m": lambda c: b1 * (1 - b1) * c,
        "v": lambda c: b2 * (1 - b2) * c * c,
    }
    if optimizer.amsgrad:
        wanted["h"] = lambda c: (1 - b2) * c * c
    found: dict[tuple[str, int], Any] = {}
    for position, variable in enumerate(mine):
        if not str(variable.dtype).startswith("float"):
            continue
        value = read(variable)
        matches = [
            (kind, k)
            for kind, formula in wanted.items()
            for k, w in enumerate(weights)
            if value.shape == tuple(w.shape)
            and value.size > 0
            and np.allclose(value, formula(k + 1), rtol=1e-5, atol=0)
        ]
        if len(matches) > 1 or (matches and matches[0] in found):
            return None  # not told apart
        if matches:
            found[matches[0]] = position
    if len(found) != len(wanted) * len(weights):
        return None
    n = range(len(weights))
    return AdamSlots(
        [found["m", k] for k in n],
        [found["v", k] for k in n],
        [found["h", k] for k in n] if optimizer.amsgrad else None,
    )


class AdamScalars(NamedTuple):
    """The scalars of one Adam step, float32, as :func:`adam_step` uses them."""

    step_size: np.float32  # the rate, bias-corrected for this step
    keep_1: np.float32  # 1 - beta_1
    keep_2: np.float32  # 1 - beta_2
    epsilon: np.float32


def adam_scalars(optimizer: keras.optimizers.Adam) -> AdamScalars:
    """This step's scalars: the learning rate is the optimizer's current one (a
    schedule's value at this step), so callbacks that change it act as usual."""
    f32 = np.float32
    rate = current_rate(optimizer)
    step = f32(int(read(optimizer.iterations, tf.int64)) + 1)
    beta_1, beta_2 = f32(optimizer.beta_1), f32(optimizer.beta_2)
    step_size = rate * np.sqrt(f32(1) - np.power(beta_2, step)) / (f32(1) - np.power(beta_1, step))
    return AdamScalars(
        f32(step_size), f32(1 - optimizer.beta_1), f32(1 - optimizer.beta_2), f32(optimizer.epsilon)
    )


def adam_step(
    optimizer: keras.optimizers.Adam,
    slots: AdamSlots,
    grads: list[np.ndarray],
    weights: list[Any],
) -> None:
    """Keras's ``Adam.apply(grads, weights)`` computed in numpy, float32, with
    the same operations in the same order (``update_step``), the results
    written to the weights, to their moments (``slots``, from
    :func:`adam_slots`) and to the optimizer's step count."""
    step_size, keep_1, keep_2, epsilon = adam_scalars(optimizer)
    for k, (g, w) in enumerate(zip(grads, weights)):
        m_var, v_var = slots.momentums[k], slots.velocities[k]
        m = read(m_var)
        m = m + (g - m) * keep_1
        v = read(v_var)
        v = v + (np.square(g) - v) * keep_2
        write(m_var, m)
        write(v_var, v)
        if slots.velocity_hats is not None:
            hat_var = slots.velocity_hats[k]
            v = np.maximum(read(hat_var), v)
            write(hat_var, v)
        write(w, read(w) - (m * step_size) / (np.sqrt(v) + epsilon))
    tf.raw_ops.AssignAddVariableOp(resource=handle(optimizer.iterations), value=np.int64(1))


def graph_adam_step(
    grads: list[tf.Tensor],
    weights: list[tf.Tensor],
    momentums: list[tf.Tensor],
    velocities: list[tf.Tensor],
    velocity_hats: list[tf.Tensor] | None,
    iterations: tf.Tensor,
    scalars: list[tf.Tensor],
) -> None:
    """:func:`adam_step` as graph code, on variables given by their resource
    handles (``scalars``: :class:`AdamScalars` as float32 tensors): the same
    operations in the same order, for a compiled step that serves every RAE of
    one configuration (the variables are its arguments, not captured state)."""
    step_size, keep_1, keep_2, epsilon = scalars

    def read_(h: tf.Tensor) -> tf.Tensor:
        return tf.raw_ops.ReadVariableOp(resource=h, dtype=tf.float32)

    def write_(h: tf.Tensor, value: tf.Tensor) -> Any:
        return tf.raw_ops.AssignVariableOp(resource=h, value=value)

    for k, (g, w) in enumerate(zip(grads, weights)):
        m = read_(momentums[k])
        m = m + (g - m) * keep_1
        v = read_(velocities[k])
        v = v + (tf.square(g) - v) * keep_2
        write_(momentums[k], m)
        write_(velocities[k], v)
        if velocity_hats is not None:
            v = tf.maximum(read_(velocity_hats[k]), v)
            write_(velocity_hats[k], v)
        write_(w, read_(w) - (m * step_size) / (tf.sqrt(v) + epsilon))
    tf.raw_ops.AssignAddVariableOp(resource=iterations, value=tf.constant(1, tf.int64))
