"""Reads and writes of variables by TensorFlow's raw operations: a third of the
cost of ``numpy()`` and ``assign``, which matters at a few per weight a step
(the native builds read the network's weights, the numpy replay steps them)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf


def handle(variable: Any) -> Any:
    """The resource handle of a TensorFlow or Keras variable."""
    value = getattr(variable, "value", None)  # the TensorFlow variable under a Keras one
    return (value if isinstance(value, tf.Variable) else variable).handle


def value(variable: Any, dtype: tf.DType | None = None) -> tf.Tensor:
    """A variable's value as a tensor (of ``dtype``, by default the variable's)."""
    dtype = tf.as_dtype(variable.dtype) if dtype is None else dtype
    return tf.raw_ops.ReadVariableOp(resource=handle(variable), dtype=dtype)


def read(variable: Any, dtype: tf.DType = tf.float32) -> np.ndarray:
    """A variable's value."""
    return np.asarray(value(variable, dtype).numpy())


def specs(variables: list[Any]) -> list[tf.TensorSpec]:
    """The tensor specs of variables' values (a compiled function's arguments)."""
    return [tf.TensorSpec(v.shape, tf.as_dtype(v.dtype)) for v in variables]


def write(variable: Any, value: np.ndarray) -> None:
    """Sets a variable's value (of its dtype and shape)."""
    tf.raw_ops.AssignVariableOp(resource=handle(variable), value=value)


def gather(variable: Any, rows: np.ndarray) -> np.ndarray:
    """Rows of a float32 variable."""
    out = tf.raw_ops.ResourceGather(resource=handle(variable), indices=rows, dtype=tf.float32)
    return np.asarray(out.numpy())


def current_rate(optimizer: keras.optimizers.Optimizer) -> np.float32:
    """The optimizer's learning rate at this step (a schedule's value, or what
    a callback has set), float32."""
    rate = optimizer.learning_rate
    if isinstance(rate, (keras.Variable, tf.Variable)):
        return np.float32(read(rate))
    return np.float32(np.asarray(rate))
