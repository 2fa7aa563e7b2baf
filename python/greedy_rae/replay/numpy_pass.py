"""The gradient pass in numpy, for the networks the native engine computes.

The same pass as :class:`~greedy_rae.replay.step.GradientPass` (level by
level from the roots' level back to the leaves', each level's children read
from the built embeddings), with each layer's gradient written out: the
merge network's two Dense layers with a linear, tanh or relu activation and
an optional unit normalisation, the weighted or plain reconstruction error,
the default label head (one softmax Dense layer) with its clipped
cross-entropy, and L1/L2 weight penalties. Nothing is traced or compiled, so
the first step costs what every later one does; float32 throughout, as the
graph. Networks, heads or regularisers it does not know take the graph pass
(:func:`numpy_pass` returns None for them).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae.build.plan import Plan
from greedy_rae.losses import EPSILON
from greedy_rae.network import NativeSpec, native_spec

# keras.layers.UnitNormalization: h = p * min(1 / ||p||, 1 / 1e-12)
_CAP = np.float32(1e12)


def _penalty_of(variable: Any) -> tuple[float, float] | None:
    """``(l1, l2)`` of a variable's regularizer (``(0, 0)`` without one), None if unknown."""
    reg = getattr(variable, "regularizer", None)
    if reg is None:
        return 0.0, 0.0
    if type(reg) is keras.regularizers.L2:
        return 0.0, float(reg.l2)
    if type(reg) is keras.regularizers.L1:
        return float(reg.l1), 0.0
    if type(reg) is keras.regularizers.L1L2:
        return float(reg.l1), float(reg.l2)
    return None


def _head_layer(classifier: keras.Model) -> keras.layers.Dense | None:
    """The softmax Dense layer of a head of the default form, else None."""
    layers = [x for x in classifier.layers if not isinstance(x, keras.layers.InputLayer)]
    if len(layers) != 1 or len(classifier.inputs) != 1 or len(classifier.outputs) != 1:
        return None
    (layer,) = layers
    if not (
        isinstance(layer, keras.layers.Dense)
        and layer.activation is keras.activations.softmax
        and layer.lora_rank is None
        and layer.dtype_policy.name == "float32"
        and classifier.outputs[0]._keras_history.operation is layer
    ):
        return None
    return layer


def numpy_pass(
    network: keras.Model,
    classifier: keras.Model | None,
    weights: list[Any],
    *,
    weighted: bool,
    alpha: float,
    leaf_gradients: bool,
) -> NumpyPass | None:
    """The numpy pass of a network and head, or None when the graph pass is needed.

    ``weights``: the trainable variables the gradients are aligned with (the
    network's, then the head's)."""
    spec = native_spec(network)
    if spec is None:
        return None
    head = None
    if classifier is not None:
        head = _head_layer(classifier)
        if head is None:
            return None
    layers = [spec.encoder, spec.decoder] + ([] if head is None else [head])
    known = {id(v) for layer in layers for v in (layer.kernel, layer.bias) if v is not None}
    if {id(w) for w in weights} != known or len(weights) != len(known):
        return None  # frozen layers or weights the pass does not know
    if any(_penalty_of(w) is None for w in weights):
        return None
    return NumpyPass(
        spec, head, weights, weighted=weighted, alpha=alpha, leaf_gradients=leaf_gradients
    )


def _activate(name: str, z: np.ndarray) -> Any:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, np.float32(0))
    return z


def _back(name: str, grad: np.ndarray, out: np.ndarray) -> Any:
    """The gradient at an activation's input, from that at its output."""
    if name == "tanh":
        return grad * (np.float32(1) - out * out)
    if name == "relu":
        return grad * (out > 0)
    return grad


class NumpyPass:
    """Loss and gradients of a plan, in numpy (see the module's docstring)."""

    def __init__(
        self,
        spec: NativeSpec,
        head: keras.layers.Dense | None,
        weights: list[Any],
        *,
        weighted: bool,
        alpha: float,
        leaf_gradients: bool,
    ) -> None:
        self.spec = spec
        self.head = head
        self.weights = weights
        self.weighted = weighted
        self.alpha = np.float32(alpha if head is not None else 1.0)
        self.leaf_gradients = leaf_gradients
        # (l1, l2) of each weight (numpy_pass has checked that each is known)
        self.penalties = [_penalty_of(w) or (0.0, 0.0) for w in weights]

    @staticmethod
    def _values(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
        kernel = np.asarray(layer.kernel.numpy(), dtype=np.float32)
        bias = (
            np.asarray(layer.bias.numpy(), dtype=np.float32)
            if layer.bias is not None
            else np.zeros(kernel.shape[1], np.float32)
        )
        return kernel, bias

    def _head(
        self, nodes: np.ndarray, labels: np.ndarray, wc: np.ndarray, bc: np.ndarray
    ) -> tuple[np.float32, np.ndarray]:
        """The summed clipped cross-entropy of the head on ``nodes`` (label -1 counts
        nothing) and its gradient at the softmax's input."""
        z = nodes @ wc + bc
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(axis=1, keepdims=True)
        target = np.zeros_like(probs)
        known = labels >= 0
        target[np.flatnonzero(known), labels[known]] = 1
        clipped = np.clip(probs, np.float32(EPSILON), np.float32(1))
        ce = np.sum(target * -np.log(clipped), dtype=np.float32)
        # the clip passes the gradient where EPSILON <= p <= 1
        g = np.where((probs >= np.float32(EPSILON)) & (probs <= 1), -target / clipped, 0)
        g = g.astype(np.float32)
        dz = probs * (g - np.sum(g * probs, axis=1, keepdims=True))
        return ce, dz

    def run(
        self, plan: Plan, row_labels: np.ndarray
    ) -> tuple[float, list[np.ndarray], np.ndarray | None]:
        """``(sum, gradients, leaf gradients)``: the plan's summed loss, its
        gradients (aligned with the weights) and, when asked for, each leaf's.

        Every merge's children are read from the table, so the forward pass,
        the errors and every gradient that does not flow through a parent are
        computed for all merges at once; only the chain from a parent down to
        its children goes level by level."""
        spec, alpha, f32 = self.spec, self.alpha, np.float32
        w1, b1 = self._values(spec.encoder)
        w2, b2 = self._values(spec.decoder)
        table = np.asarray(plan.table, dtype=np.float32)
        merges = len(plan.left)
        n_leaves = len(table) - merges
        dim = table.shape[1]
        # the forward pass of every merge; without the normalisation, each
        # parent is the one the build computed (the table's row)
        c = table[np.stack([plan.left, plan.right], axis=1)].reshape(merges, 2 * dim)
        if spec.normalize:
            z1 = c @ w1
            z1 += b1
            p = _activate(spec.activation, z1)
            inverse = np.minimum(f32(1) / np.sqrt(np.sum(p * p, axis=1, keepdims=True)), _CAP)
            h = p * inverse
        else:
            p = h = table[n_leaves:]
        z2 = h @ w2
        z2 += b2
        y = _activate(spec.decoder_activation, z2)
        r = y - c
        half = f32(0.5)
        if self.weighted:
            share = np.asarray(plan.left_share, np.float32)
            e1 = half * np.sum(r[:, :dim] ** 2, axis=1)
            e2 = half * np.sum(r[:, dim:] ** 2, axis=1)
            total = alpha * np.sum(share * e1 + (f32(1) - share) * e2, dtype=np.float32)
            r[:, :dim] *= share[:, None]
            r[:, dim:] *= (f32(1) - share)[:, None]
        else:
            total = alpha * half * f32(np.vdot(r, r))
        # the gradient at each parent from its own error and from its head
        dy = r if alpha == 1 else alpha * r
        dz2 = _back(spec.decoder_activation, dy, y)
        g_w2, g_b2 = h.T @ dz2, dz2.sum(axis=0)
        dh = dz2 @ w2.T
        own = None  # the leaves' gradient from the head
        by_variable: dict[int, np.ndarray] = {}
        if self.head is not None:
            wc, bc = self._values(self.head)
            rest = f32(1) - alpha
            nodes = np.concatenate([table[:n_leaves], h])
            ce, dzc = self._head(nodes, row_labels, wc, bc)
            total = total + rest * ce
            dzc = rest * dzc
            by_variable[id(self.head.kernel)] = nodes.T @ dzc
            if self.head.bias is not None:
                by_variable[id(self.head.bias)] = dzc.sum(axis=0)
            to_nodes = dzc @ wc.T
            dh += to_nodes[n_leaves:]
            own = to_nodes[:n_leaves]
        # down the trees, from the roots' level: a parent's gradient reaches its children
        passed = np.zeros((1 + 2 * merges, dim), np.float32)
        dz1 = np.empty_like(h)
        filled = 1
        ends = np.cumsum(plan.sizes)
        for k in reversed(range(len(plan.sizes))):
            stop = int(ends[k])
            start = stop - int(plan.sizes[k])
            m = stop - start
            if m == 0:
                continue
            level = slice(start, stop)
            grad = dh[level] + passed[plan.parent[level]]
            if spec.normalize:
                # through the norm while 1/||p|| is below the cap
                hk, ik = h[level], inverse[level]
                grad = np.where(
                    ik < _CAP,
                    ik * (grad - hk * np.sum(grad * hk, axis=1, keepdims=True)),
                    ik * grad,
                )
            dz1[level] = _back(spec.activation, grad, p[level])
            dc = dz1[level] @ w1.T - dy[level]
            passed[filled : filled + m] = dc[:, :dim]
            passed[filled + m : filled + 2 * m] = dc[:, dim:]
            filled += 2 * m
        by_variable[id(spec.encoder.kernel)] = c.T @ dz1
        by_variable[id(spec.decoder.kernel)] = g_w2
        if spec.encoder.bias is not None:
            by_variable[id(spec.encoder.bias)] = dz1.sum(axis=0)
        if spec.decoder.bias is not None:
            by_variable[id(spec.decoder.bias)] = g_b2
        grads = [by_variable[id(w)] for w in self.weights]
        leaves = None
        if self.leaf_gradients:
            leaves = passed[np.asarray(plan.leaf_parent)]
            if own is not None:
                leaves = leaves + own
        return float(total), grads, leaves

    def loss_and_gradients(
        self, parts: list[tuple[float, list[np.ndarray], np.ndarray | None]], count: int
    ) -> tuple[float, list[np.ndarray], np.ndarray | None]:
        """``(loss, gradients, leaf gradients)`` of a minibatch from its parts'
        :meth:`run`: the summed losses divided by ``count`` (the minibatch's
        sequences) plus the weight penalties, and their gradients (aligned with
        the weights; the leaves' in the parts' order)."""
        f32 = np.float32
        n = f32(count)
        total = f32(sum(part[0] for part in parts))
        grads = [
            np.sum([part[1][k] for part in parts], axis=0) / n for k in range(len(self.weights))
        ]
        penalty = f32(0)
        for k, (w, (l1, l2)) in enumerate(zip(self.weights, self.penalties)):
            if l1 or l2:
                value = np.asarray(w.numpy(), np.float32)
                penalty += f32(l1) * np.sum(np.abs(value)) + f32(l2) * np.sum(value * value)
                grads[k] = grads[k] + f32(l1) * np.sign(value) + f32(2 * l2) * value
        leaves = None
        if self.leaf_gradients:
            leaves = np.concatenate([part[2] for part in parts]) / n
        return float(total / n + penalty), grads, leaves


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
    rate = f32(np.asarray(optimizer.learning_rate))
    step = f32(int(optimizer.iterations.numpy()) + 1)
    beta_1, beta_2 = f32(optimizer.beta_1), f32(optimizer.beta_2)
    alpha = rate * np.sqrt(f32(1) - np.power(beta_2, step)) / (f32(1) - np.power(beta_1, step))
    keep_1, keep_2 = f32(1 - optimizer.beta_1), f32(1 - optimizer.beta_2)
    epsilon = f32(optimizer.epsilon)
    for g, w in zip(grads, weights):
        index = optimizer._get_variable_index(w)
        m_var = _tf_variable(optimizer._momentums[index])
        v_var = _tf_variable(optimizer._velocities[index])
        m = m_var.numpy()
        m = m + (g - m) * keep_1
        v = v_var.numpy()
        v = v + (np.square(g) - v) * keep_2
        m_var.assign(m, read_value=False)
        v_var.assign(v, read_value=False)
        if optimizer.amsgrad:
            hat_var = _tf_variable(optimizer._velocity_hats[index])
            v = np.maximum(hat_var.numpy(), v)
            hat_var.assign(v, read_value=False)
        var = _tf_variable(w)
        var.assign(var.numpy() - (m * alpha) / (np.sqrt(v) + epsilon), read_value=False)
    optimizer.iterations.assign_add(1)


def _tf_variable(variable: Any) -> Any:
    """The TensorFlow variable under a Keras one (its reads and writes cost less)."""
    value = getattr(variable, "value", None)
    return value if isinstance(value, tf.Variable) else variable
