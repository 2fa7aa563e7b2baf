"""The merge network: two node embeddings in, ``[h, c, y]`` out."""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np


def merge_network(dim: int) -> keras.Model:
    """The built-in merge network of the greedy RAE.

    ``h = Dense(dim)(concat(a, b))`` and ``y = Dense(2 * dim)(h)``, no activation,
    as in the original post.

    Parameters
    ----------
    dim : int
        Width of a node embedding.

    Returns
    -------
    keras.Model
        Inputs ``[a, b]``, each ``(batch, dim)``; outputs ``[h, c, y]`` with
        ``h`` the parent embedding ``(batch, dim)``, ``c = concat(a, b)`` and ``y``
        its reconstruction, both ``(batch, 2 * dim)``.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be a positive integer, got {dim!r}")
    if dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    dim = int(dim)
    a = keras.Input(shape=(dim,), name="left")
    b = keras.Input(shape=(dim,), name="right")
    c = keras.layers.Concatenate(name="concat")([a, b])
    h = keras.layers.Dense(dim, name="encode")(c)
    y = keras.layers.Dense(2 * dim, name="decode")(h)
    return keras.Model(inputs=[a, b], outputs=[h, c, y], name="merge_network")


def network_dim(network: keras.Model) -> int:
    """Width of the node embeddings a merge network takes."""
    if not isinstance(network, keras.Model):
        raise TypeError(f"network must be a keras.Model, got {type(network).__name__}")
    inputs = network.inputs
    if inputs is None or len(inputs) != 2:
        raise ValueError("a merge network takes two inputs [a, b]")
    shapes = [tuple(t.shape) for t in inputs]
    if any(len(s) != 2 or s[1] is None for s in shapes) or shapes[0][1] != shapes[1][1]:
        raise ValueError(
            f"a merge network takes two (batch, dim) inputs of one width, got {shapes}"
        )
    return int(shapes[0][1])


def _source(tensor: object) -> object:
    return tensor._keras_history.operation  # type: ignore[attr-defined]


def _parents(layer: keras.layers.Layer) -> list[object]:
    nodes = layer._inbound_nodes
    if len(nodes) != 1:
        return []
    return [_source(t) for t in nodes[0].input_tensors]


def _is_plain_dense(layer: object, units: int) -> bool:
    return (
        isinstance(layer, keras.layers.Dense)
        and layer.units == units
        and layer.activation is keras.activations.linear
        and layer.lora_rank is None
        and layer.dtype_policy.name == "float32"
    )


_linear_layers: weakref.WeakKeyDictionary[keras.Model, tuple[Any, Any] | None] = (
    weakref.WeakKeyDictionary()
)


def linear_weights(
    network: keras.Model,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The weights ``(W1, b1, W2, b2)`` when ``network`` is the built-in linear network.

    Returns None for any other network: the native scorer computes exactly this
    architecture and nothing else. The architecture check is done once per
    network; the weights are read at every call.
    """
    if network not in _linear_layers:
        _linear_layers[network] = _linear_layers_of(network)
    layers = _linear_layers[network]
    if layers is None:
        return None

    def parts(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
        kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
        bias = (
            np.asarray(layer.bias.numpy(), dtype=np.float64)
            if layer.use_bias
            else np.zeros(layer.units, dtype=np.float64)
        )
        return kernel, bias

    w1, b1 = parts(layers[0])
    w2, b2 = parts(layers[1])
    return w1, b1, w2, b2


def _linear_layers_of(network: keras.Model) -> tuple[Any, Any] | None:
    """The two Dense layers when the network is the built-in architecture."""
    try:
        dim = network_dim(network)
        if len(network.outputs) != 3:
            return None
        h_layer, c_layer, y_layer = (_source(t) for t in network.outputs)
        a_in, b_in = (_source(t) for t in network.inputs)
        layers = [
            layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)
        ]
        if len(layers) != 3 or {id(x) for x in layers} != {id(h_layer), id(c_layer), id(y_layer)}:
            return None
        if not isinstance(c_layer, keras.layers.Concatenate) or c_layer.axis not in (-1, 1):
            return None
        if _parents(c_layer) != [a_in, b_in]:
            return None
        if not _is_plain_dense(h_layer, dim) or _parents(h_layer) != [c_layer]:
            return None
        if not _is_plain_dense(y_layer, 2 * dim) or _parents(y_layer) != [h_layer]:
            return None
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return h_layer, y_layer
