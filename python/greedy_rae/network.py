"""The merge network: two node embeddings in, ``[h, c, y]`` out."""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import keras
import numpy as np

from greedy_rae._options import check_activation
from greedy_rae._variables import read

_ACTIVATION_FUNCTIONS = {
    "linear": keras.activations.linear,
    "tanh": keras.activations.tanh,
    "relu": keras.activations.relu,
}


def merge_network(
    dim: int,
    activation: str = "linear",
    normalize: bool = False,
    decoder_activation: str = "linear",
    *,
    normalize_reconstruction: bool = False,
    kernel_regularizer: Any = None,
) -> keras.Model:
    """The built-in merge network of the greedy RAE.

    ``p = activation(concat(a, b) W1 + b1)``, ``h = p / ||p||`` when
    ``normalize`` (else ``h = p``), ``y = decoder_activation(h W2 + b2)``. The
    defaults are the original post's network: no activation, no normalisation.
    Socher et al. (2011) use ``activation="tanh", normalize=True`` with a linear
    decoder; their released code also puts tanh on the decoder
    (``decoder_activation="tanh"``). Every such network runs on the native engine.

    Parameters
    ----------
    dim : int
        Width of a node embedding.
    activation, decoder_activation : {"linear", "tanh", "relu"}
        Activations of the encoder (the parent) and of the decoder (the
        reconstruction).
    normalize : bool
        Divide the parent by its Euclidean length (``keras.layers.UnitNormalization``).
    normalize_reconstruction : bool
        Divide each half of the reconstruction (``y1``, ``y2``) by its length, as
        Socher et al.'s ``forwardPropRAE.m`` does: ``y`` is reshaped to ``(2,
        dim)``, unit-normalised over the last axis and flattened back.
    kernel_regularizer : keras regularizer, optional
        Weight decay on both kernels, e.g. ``keras.regularizers.L2(1e-4)``;
        training adds it to the loss.

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
    check_activation("activation", activation)
    check_activation("decoder_activation", decoder_activation)
    for name, flag in (
        ("normalize", normalize),
        ("normalize_reconstruction", normalize_reconstruction),
    ):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    dim = int(dim)
    a = keras.Input(shape=(dim,), name="left")
    b = keras.Input(shape=(dim,), name="right")
    c = keras.layers.Concatenate(name="concat")([a, b])
    h = keras.layers.Dense(
        dim, activation=activation, kernel_regularizer=kernel_regularizer, name="encode"
    )(c)
    if normalize:
        h = keras.layers.UnitNormalization(name="normalize")(h)
    y = keras.layers.Dense(
        2 * dim,
        activation=decoder_activation,
        kernel_regularizer=kernel_regularizer,
        name="decode",
    )(h)
    if normalize_reconstruction:
        y = keras.layers.Reshape((2, dim), name="halves")(y)
        y = keras.layers.UnitNormalization(axis=-1, name="normalize_halves")(y)
        y = keras.layers.Reshape((2 * dim,), name="reconstruction")(y)
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


def _activation_name(layer: object, units: int) -> str | None:
    """The activation of a float32 Dense layer of ``units`` outputs the engine computes."""
    if not (
        isinstance(layer, keras.layers.Dense)
        and layer.units == units
        and layer.lora_rank is None
        and layer.dtype_policy.name == "float32"
    ):
        return None
    for name, fn in _ACTIVATION_FUNCTIONS.items():
        if layer.activation is fn:
            return name
    return None


class NativeSpec(NamedTuple):
    """A merge network the native engine computes: its options and its two Dense layers."""

    activation: str
    normalize: bool
    decoder_activation: str
    encoder: keras.layers.Dense
    decoder: keras.layers.Dense
    normalize_reconstruction: bool = False

    @property
    def linear(self) -> bool:
        """The post's linear network (the engine's O(d)-a-pair form)."""
        return (
            self.activation,
            self.normalize,
            self.decoder_activation,
            self.normalize_reconstruction,
        ) == ("linear", False, "linear", False)

    @property
    def kind(self) -> str:
        """The network kind the engine computes: ``"linear"`` or ``"nonlinear"``."""
        return "linear" if self.linear else "nonlinear"

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The current ``(W1, b1, W2, b2)`` in float64."""

        def parts(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
            kernel = np.asarray(read(layer.kernel), dtype=np.float64)
            bias = (
                np.asarray(read(layer.bias), dtype=np.float64)
                if layer.use_bias
                else np.zeros(layer.units, dtype=np.float64)
            )
            return kernel, bias

        return (*parts(self.encoder), *parts(self.decoder))

    def core_args(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, bool, str, bool]:
        """``(W1, b1, W2, b2, activation, normalize, decoder_activation,
        normalize_reconstruction)``: the network as the core's builds take it,
        with the current weights."""
        return (
            *self.weights(),
            self.activation,
            self.normalize,
            self.decoder_activation,
            self.normalize_reconstruction,
        )


_native_specs: weakref.WeakKeyDictionary[keras.Model, NativeSpec | None] = (
    weakref.WeakKeyDictionary()
)


def native_spec(network: keras.Model) -> NativeSpec | None:
    """How the native engine computes ``network``, or None when it cannot.

    The engine computes every network :func:`merge_network` builds and any
    Keras network of the same structure (Concatenate of the two inputs, Dense
    of width ``dim`` with a linear, tanh or relu activation, optionally
    UnitNormalization over the last axis, Dense of width ``2 * dim``,
    optionally its halves unit-normalised as :func:`merge_network` does; outputs
    ``[h, c, y]``). The structure is read once per network; the weights at
    every build.
    """
    if network not in _native_specs:
        _native_specs[network] = _native_spec_of(network)
    return _native_specs[network]


def _native_spec_of(network: keras.Model) -> NativeSpec | None:
    try:
        dim = network_dim(network)
        if len(network.outputs) != 3:
            return None
        h_layer, c_layer, y_layer = (_source(t) for t in network.outputs)
        a_in, b_in = (_source(t) for t in network.inputs)
        layers = [
            layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)
        ]
        if not isinstance(c_layer, keras.layers.Concatenate) or c_layer.axis not in (-1, 1):
            return None
        if _parents(c_layer) != [a_in, b_in]:
            return None
        normalize = isinstance(h_layer, keras.layers.UnitNormalization)
        if normalize:
            axis = h_layer.axis  # type: ignore[attr-defined]
            if axis not in (-1, 1, [-1], [1], (-1,), (1,)):
                return None
            (enc_layer,) = _parents(h_layer)
        else:
            enc_layer = h_layer
        halves: list[Any] = []  # the reconstruction's normalisation, when present
        if isinstance(y_layer, keras.layers.Reshape):
            flat = y_layer
            (unit,) = _parents(flat)
            (split,) = _parents(unit)
            if not (
                tuple(flat.target_shape) == (2 * dim,)
                and isinstance(unit, keras.layers.UnitNormalization)
                and unit.axis in (-1, 2, [-1], [2], (-1,), (2,))
                and isinstance(split, keras.layers.Reshape)
                and tuple(split.target_shape) == (2, dim)
            ):
                return None
            halves = [flat, unit, split]
            (y_layer,) = _parents(split)
        expected = {id(c_layer), id(enc_layer), id(h_layer), id(y_layer), *map(id, halves)}
        if len(layers) != len(expected) or {id(x) for x in layers} != expected:
            return None
        activation = _activation_name(enc_layer, dim)
        decoder_activation = _activation_name(y_layer, 2 * dim)
        if activation is None or decoder_activation is None:
            return None
        if _parents(enc_layer) != [c_layer] or _parents(y_layer) != [h_layer]:
            return None
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return NativeSpec(activation, normalize, decoder_activation, enc_layer, y_layer, bool(halves))
