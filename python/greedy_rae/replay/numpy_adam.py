"""Keras's Adam step in numpy, for the numpy replay (see
:mod:`greedy_rae.replay.numpy_pass`): the same operations in the same order
as ``keras.optimizers.Adam.update_step``, on the optimizer's own moments and
step count, so checkpoints, callbacks that change the learning rate and a
later switch to the graph replay all see the state Keras would have."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae._variables import current_rate, handle, read, write


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


def adam_step(
    optimizer: keras.optimizers.Adam, grads: list[np.ndarray], weights: list[Any]
) -> None:
    """Keras's ``Adam.apply(grads, weights)`` computed in numpy, float32, with
    the same operations in the same order (``update_step``), the results
    written to the weights and to the optimizer's moments and step count.
    The learning rate is the optimizer's current one (a schedule's value at
    this step), so callbacks that change it act as usual."""
    f32 = np.float32
    rate = current_rate(optimizer)
    step = f32(int(read(optimizer.iterations, tf.int64)) + 1)
    beta_1, beta_2 = f32(optimizer.beta_1), f32(optimizer.beta_2)
    alpha = rate * np.sqrt(f32(1) - np.power(beta_2, step)) / (f32(1) - np.power(beta_1, step))
    keep_1, keep_2 = f32(1 - optimizer.beta_1), f32(1 - optimizer.beta_2)
    epsilon = f32(optimizer.epsilon)
    for g, w in zip(grads, weights):
        index = optimizer._get_variable_index(w)
        m_var, v_var = optimizer._momentums[index], optimizer._velocities[index]
        m = read(m_var)
        m = m + (g - m) * keep_1
        v = read(v_var)
        v = v + (np.square(g) - v) * keep_2
        write(m_var, m)
        write(v_var, v)
        if optimizer.amsgrad:
            hat_var = optimizer._velocity_hats[index]
            v = np.maximum(read(hat_var), v)
            write(hat_var, v)
        write(w, read(w) - (m * alpha) / (np.sqrt(v) + epsilon))
    tf.raw_ops.AssignAddVariableOp(resource=handle(optimizer.iterations), value=np.int64(1))
