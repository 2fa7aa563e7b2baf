"""The gradient pass in numpy, for the networks the native engine computes.

The same pass as :class:`~greedy_rae.replay.graph_pass.GradientPass` (level by
level from the roots' level back to the leaves', each level's children read
from the built embeddings), with each layer's gradient written out: the
merge network's two Dense layers with a linear, tanh or relu activation and
an optional unit normalisation, the weighted or plain reconstruction error,
the default label head (one softmax Dense layer) with its clipped
cross-entropy, and L1/L2 weight penalties. Nothing is traced or compiled, so
the first step costs what every later one does; float32 throughout, as the
graph. Networks, heads or regularisers it does not know take the graph pass
(:func:`numpy_pass` returns None for them).

While the pass runs, numpy's BLAS is held to one thread (process-wide, as
``threadpoolctl`` does it): a multi-threaded OpenBLAS keeps its idle threads
spinning after each product, which slows the next tree build more than the
second thread speeds these products. Products large enough to gain are cut
into row blocks on a thread pool instead.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import keras
import numpy as np

from greedy_rae._variables import read
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
    head_loss: str = "cross_entropy",
    inner_weight: float = 1.0,
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
        spec,
        head,
        weights,
        weighted=weighted,
        alpha=alpha,
        leaf_gradients=leaf_gradients,
        head_loss=head_loss,
        inner_weight=inner_weight,
    )


def _activate(name: str, z: np.ndarray, out: np.ndarray | None = None) -> Any:
    if name == "tanh":
        return np.tanh(z, out=out)
    if name == "relu":
        return np.maximum(z, np.float32(0), out=out)
    return z


def _slope(name: str, out: np.ndarray) -> Any:
    """An activation's derivative, from its output."""
    if name == "tanh":
        return np.float32(1) - out * out
    if name == "relu":
        return (out > 0).astype(np.float32)
    return np.ones_like(out)


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
        head_loss: str = "cross_entropy",
        inner_weight: float = 1.0,
    ) -> None:
        self.spec = spec
        self.head_loss = head_loss
        self.inner_weight = np.float32(inner_weight)
        self.head = head
        self.weights = weights
        self.weighted = weighted
        self.alpha = np.float32(alpha if head is not None else 1.0)
        self.leaf_gradients = leaf_gradients
        # (l1, l2) of each weight (numpy_pass has checked that each is known)
        self.penalties = [_penalty_of(w) or (0.0, 0.0) for w in weights]
        self._buffers: dict[str, np.ndarray] = {}
        self._pool: ThreadPoolExecutor | None = None

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 scratch array of ``shape``, kept between calls: the large
        temporaries of a step are not allocated (and paged in) anew each time."""
        size = int(np.prod(shape))
        held = self._buffers.get(name)
        if held is None or held.size < size:
            held = self._buffers[name] = np.empty(max(size, 1), np.float32)
        return held[:size].reshape(shape)

    def _chunks(self, rows: int, inner: int, cols: int) -> list[slice]:
        """Row ranges of a product's left factor, one a core when the product
        is large enough to gain from threads (BLAS itself runs on one)."""
        count = min(_CORES, rows // 64) if rows * inner * cols >= _THREADED_WORK else 1
        if count <= 1:
            return [slice(0, rows)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(_CORES, thread_name_prefix="greedy-rae-pass")
        cut = [rows * k // count for k in range(count + 1)]
        return [slice(cut[k], cut[k + 1]) for k in range(count)]

    def _product(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``a @ b`` into ``out``, in row blocks on threads when it is large."""
        chunks = self._chunks(a.shape[0], a.shape[1], b.shape[1])
        if len(chunks) == 1:
            return np.matmul(a, b, out=out)
        assert self._pool is not None
        list(self._pool.map(lambda k: np.matmul(a[k], b, out=out[k]), chunks))
        return out

    def _gram(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a.T @ b``, summed over row blocks on threads when it is large."""
        chunks = self._chunks(a.shape[0], a.shape[1], b.shape[1])
        if len(chunks) == 1:
            return np.asarray(a.T @ b)
        assert self._pool is not None
        return np.asarray(sum(self._pool.map(lambda k: a[k].T @ b[k], chunks)))

    @staticmethod
    def _values(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray]:
        kernel = read(layer.kernel)
        bias = read(layer.bias) if layer.bias is not None else np.zeros(kernel.shape[1], np.float32)
        return kernel, bias

    def _head(
        self, nodes: np.ndarray, labels: np.ndarray, wc: np.ndarray, bc: np.ndarray, leaves: int
    ) -> tuple[np.float32, np.ndarray]:
        """The head's summed errors on ``nodes`` (its leaves first; label -1
        counts nothing; an inner node's times ``inner_weight``) and their
        gradient at the softmax's input. The error: the clipped cross-entropy,
        or with ``head_loss="squared"`` ``|onehot - p|^2 / 2``."""
        z = nodes @ wc + bc
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(axis=1, keepdims=True)
        target = np.zeros_like(probs)
        known = labels >= 0
        target[np.flatnonzero(known), labels[known]] = 1
        weight = np.ones(len(nodes), np.float32)
        weight[leaves:] = self.inner_weight
        if self.head_loss == "squared":
            diff = (target - probs) * known[:, None]
            errors = np.float32(0.5) * np.sum(diff * diff, axis=1)
            g = -diff
        else:
            clipped = np.clip(probs, np.float32(EPSILON), np.float32(1))
            errors = np.sum(target * -np.log(clipped), axis=1)
            # the clip passes the gradient where EPSILON <= p <= 1
            g = np.where((probs >= np.float32(EPSILON)) & (probs <= 1), -target / clipped, 0)
        total = np.sum(errors * weight, dtype=np.float32)
        g = g.astype(np.float32) * weight[:, None]
        dz = probs * (g - np.sum(g * probs, axis=1, keepdims=True))
        return total, dz

    def loss_and_gradients(
        self, plan: Plan, row_labels: np.ndarray, count: int
    ) -> tuple[float, list[np.ndarray], np.ndarray | None]:
        """``(loss, gradients, leaf gradients)``: the plan's summed loss divided
        by ``count`` (the minibatch's sequences) plus the weight penalties, its
        gradients (aligned with the weights) and, with ``leaf_gradients``, each
        leaf's (else None). ``row_labels``: the label of every table row (-1:
        none; empty without a head)."""
        with _one_blas_thread():
            total, grads, leaves = self._sums(plan, row_labels)
        f32 = np.float32
        n = f32(count)
        grads = [g / n for g in grads]
        penalty = f32(0)
        for k, (w, (l1, l2)) in enumerate(zip(self.weights, self.penalties)):
            if l1 or l2:
                value = read(w)
                penalty += f32(l1) * np.sum(np.abs(value)) + f32(l2) * np.sum(value * value)
                grads[k] = grads[k] + f32(l1) * np.sign(value) + f32(2 * l2) * value
        if leaves is not None:
            leaves = leaves / n
        return float(f32(total) / n + penalty), grads, leaves

    def _sums(
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
        table = np.asarray(plan.nodes, dtype=np.float32)
        merges = len(plan.left)
        n_leaves = len(table) - merges
        dim = table.shape[1]
        # the forward pass of every merge; without the normalisation, each
        # parent is the one the build computed (the table's row)
        pairs = np.stack([plan.left, plan.right], axis=1)
        # (mode "clip": with mode "raise", take buffers its output)
        c = np.take(table, pairs, axis=0, out=self._buffer("c", (merges, 2, dim)), mode="clip")
        c = c.reshape(merges, 2 * dim)
        if spec.normalize:
            z1 = self._product(c, w1, self._buffer("z1", (merges, dim)))
            z1 += b1
            p = _activate(spec.activation, z1, out=z1)
            squares = np.einsum("ij,ij->i", p, p)
            inverse = np.minimum(f32(1) / np.sqrt(squares), _CAP)[:, None]
            # where 1/||p|| is capped, the norm passes no gradient
            through = (inverse < _CAP).astype(np.float32)
            h = np.multiply(p, inverse, out=self._buffer("h", (merges, dim)))
        else:
            p = h = table[n_leaves:]
        # the activation's derivative at every parent
        slope = None if spec.activation == "linear" else _slope(spec.activation, p)
        z2 = self._product(h, w2, self._buffer("z2", (merges, 2 * dim)))
        z2 += b2
        unit = None  # with normalised reconstructions: (u, 1/|y| a half, where passed)
        if spec.normalize_reconstruction:
            y = _activate(spec.decoder_activation, z2, out=z2)
            halves = y.reshape(merges, 2, dim)
            inverse_y = np.minimum(f32(1) / np.sqrt(np.einsum("ijk,ijk->ij", halves, halves)), _CAP)
            u = (halves * inverse_y[:, :, None]).reshape(merges, 2 * dim)
            unit = (u, inverse_y, (inverse_y < _CAP).astype(np.float32))
            r = np.subtract(u, c, out=self._buffer("r", (merges, 2 * dim)))
        elif spec.decoder_activation == "linear":
            r = np.subtract(z2, c, out=z2)  # y = z2 is not needed again
        else:
            y = _activate(spec.decoder_activation, z2, out=z2)
            r = np.subtract(y, c, out=self._buffer("r", (merges, 2 * dim)))
        half = f32(0.5)
        if self.weighted:
            share = np.asarray(plan.left_share, np.float32)
            e1 = half * np.einsum("ij,ij->i", r[:, :dim], r[:, :dim])
            e2 = half * np.einsum("ij,ij->i", r[:, dim:], r[:, dim:])
            total = alpha * np.sum(share * e1 + (f32(1) - share) * e2, dtype=np.float32)
            r[:, :dim] *= share[:, None]
            r[:, dim:] *= (f32(1) - share)[:, None]
        else:
            total = alpha * half * f32(np.vdot(r, r))
        # the gradient at each parent from its own error and from its head
        dy = r if alpha == 1 else np.multiply(r, alpha, out=r)
        if unit is not None:
            # through each half's y / |y|: the part along u removed, scaled by 1/|y|
            u, inverse_y, passed = unit
            g = dy.reshape(merges, 2, dim)
            along = np.einsum("ijk,ijk->ij", g, u.reshape(merges, 2, dim)) * passed
            dz2 = (g - u.reshape(merges, 2, dim) * along[:, :, None]) * inverse_y[:, :, None]
            dz2 = dz2.reshape(merges, 2 * dim)
            if spec.decoder_activation != "linear":
                dz2 *= _slope(spec.decoder_activation, y)
        elif spec.decoder_activation == "linear":
            dz2 = dy
        else:
            dz2 = np.multiply(dy, _slope(spec.decoder_activation, y), out=z2)
        g_w2, g_b2 = self._gram(h, dz2), dz2.sum(axis=0)
        dh = self._product(dz2, w2.T, self._buffer("dh", (merges, dim)))
        own = None  # the leaves' gradient from the head
        by_variable: dict[int, np.ndarray] = {}
        if self.head is not None:
            wc, bc = self._values(self.head)
            rest = f32(1) - alpha
            nodes = np.concatenate([table[:n_leaves], h])
            ce, dzc = self._head(nodes, row_labels, wc, bc, n_leaves)
            total = total + rest * ce
            dzc = rest * dzc
            by_variable[id(self.head.kernel)] = nodes.T @ dzc
            if self.head.bias is not None:
                by_variable[id(self.head.bias)] = dzc.sum(axis=0)
            to_nodes = dzc @ wc.T
            dh += to_nodes[n_leaves:]
            own = to_nodes[:n_leaves]
        # down the trees, from the roots' level: a parent's gradient reaches its
        # children. ``down`` holds a zero row, then each merge's gradient at its
        # left child and at its right one (the rows of ``dc``, so a level's
        # product lands in place); ``row`` maps the plan's slots (Plan.parent)
        # to its rows.
        down = self._buffer("down", (1 + 2 * merges, dim))
        down[0] = 0
        dc = down[1:].reshape(merges, 2 * dim)
        row = np.empty(1 + 2 * merges, np.intp)
        row[0] = 0
        filled = 1
        ends = np.cumsum(plan.sizes)
        for k in reversed(range(len(plan.sizes))):
            stop = int(ends[k])
            start = stop - int(plan.sizes[k])
            m = stop - start
            if m == 0:
                continue
            level = slice(start, stop)
            grad = dh[level]  # becomes this level's gradient at the encoder's input
            # the parents' slots were filled by the levels above
            grad += down[row[plan.parent[level]]]
            at = np.arange(1 + 2 * start, 1 + 2 * stop, 2)
            row[filled : filled + m] = at
            row[filled + m : filled + 2 * m] = at + 1
            filled += 2 * m
            if spec.normalize:
                # d(p / ||p||): the part along h removed, scaled by 1/||p||
                hk = h[level]
                along = np.einsum("ij,ij->i", grad, hk)[:, None] * through[level]
                grad -= hk * along
                grad *= inverse[level]
            if slope is not None:
                grad *= slope[level]
            self._product(grad, w1.T, dc[level])
            dc[level] -= dy[level]
        dz1 = dh
        by_variable[id(spec.encoder.kernel)] = self._gram(c, dz1)
        by_variable[id(spec.decoder.kernel)] = g_w2
        if spec.encoder.bias is not None:
            by_variable[id(spec.encoder.bias)] = dz1.sum(axis=0)
        if spec.decoder.bias is not None:
            by_variable[id(spec.decoder.bias)] = g_b2
        grads = [by_variable[id(w)] for w in self.weights]
        leaves = None
        if self.leaf_gradients:
            leaves = down[row[np.asarray(plan.leaf_parent)]]
            if own is not None:
                leaves = leaves + own
        return float(total), grads, leaves


_blas: Any = None
# products of at least this many multiply-adds run in row blocks on threads
# (one a core): numpy's BLAS runs on one thread in the pass
_THREADED_WORK = 2**26
_CORES = min(8, os.cpu_count() or 1)


def find_blas() -> None:
    """Finds numpy's BLAS for :func:`_one_blas_thread` (once a process: it reads
    every loaded library, some 15 ms with TensorFlow's)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController().select(user_api="blas")


def _one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on the calling thread alone.

    A multi-threaded BLAS (OpenBLAS) keeps its worker threads spinning for a
    while after each product; during the next build they take cores from the
    engine's threads, which costs more than a second BLAS thread saves on
    these products."""
    find_blas()
    return _blas.limit(limits=1)
