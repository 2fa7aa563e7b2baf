"""The TF scorer: builds with any Keras merge network, each greedy step one
compiled call that embeds the step's parents and scores the pairs they form;
the core's forest keeps the errors (its cache) and makes the greedy choices."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _core, _shared
from greedy_rae._memory import CHUNK
from greedy_rae._variables import specs, value
from greedy_rae.losses import reconstruction_errors
from greedy_rae.tree import Tree


class _TFScorer:
    """Compiled calls of a Keras merge network: pair errors (the first step),
    and one greedy step (its parents and the errors of the pairs they form).
    The network's weights are arguments (``stateless_call``), so one scorer
    serves every network of its architecture (see :mod:`greedy_rae._shared`);
    :meth:`bound` gives the calls for one network's current weights."""

    def __init__(self, model: keras.Model, dim: int, weighted: bool) -> None:
        spec = tf.TensorSpec([None, dim], tf.float32)
        share = tf.TensorSpec([None], tf.float32)
        values = specs(model.trainable_weights)
        fixed = specs(model.non_trainable_weights)

        def call(ab: list[tf.Tensor], weights: list[tf.Tensor], constants: list[tf.Tensor]) -> Any:
            return model.stateless_call(weights, constants, ab, training=False)[0]

        def pair_errors(
            a: tf.Tensor,
            b: tf.Tensor,
            left_share: tf.Tensor,
            w: list[tf.Tensor],
            k: list[tf.Tensor],
        ) -> tf.Tensor:
            _, c, y = call([a, b], w, k)
            return reconstruction_errors(c, y, left_share if weighted else None, dim)

        errors = tf.function(
            pair_errors, input_signature=[spec, spec, share, values, fixed], autograph=False
        )

        @tf.function(
            input_signature=[tf.TensorSpec([None], tf.float32), values, fixed], autograph=False
        )
        def step(
            packed: tf.Tensor, w: list[tf.Tensor], k: list[tf.Tensor]
        ) -> tuple[tf.Tensor, tf.Tensor]:
            # One input (each costs a conversion a call), all float32:
            # [P, M, left parent (M), right parent (M), left share (M),
            # rows], the rows being the children a, b of the P parents to
            # compute, then the M pairs' left and right children, d values
            # each; a pair's child is parent p instead of its row where its
            # parent entry is p >= 0 (small integers: exact in float32).
            p, m = tf.cast(packed[0], tf.int32), tf.cast(packed[1], tf.int32)
            left_parent = tf.cast(packed[2 : 2 + m], tf.int32)
            right_parent = tf.cast(packed[2 + m : 2 + 2 * m], tf.int32)
            left_share = packed[2 + 2 * m : 2 + 3 * m]
            rows = tf.reshape(packed[2 + 3 * m :], [-1, dim])
            a, b = rows[:p], rows[p : 2 * p]
            left, right = rows[2 * p : 2 * p + m], rows[2 * p + m :]
            h = call([a, b], w, k)[0]
            padded = tf.concat([h, tf.zeros([1, dim])], axis=0)

            def side(rows: tf.Tensor, parent: tf.Tensor) -> tf.Tensor:
                new = tf.gather(padded, tf.where(parent >= 0, parent, p))
                return tf.where((parent >= 0)[:, None], new, rows)

            left_child, right_child = side(left, left_parent), side(right, right_parent)
            return h, pair_errors(left_child, right_child, left_share, w, k)

        self.model = model
        self._errors = errors.get_concrete_function()
        # concrete functions: one call a greedy step, without re-binding the
        # arguments to a signature each time
        self._step = step.get_concrete_function()

    def bound(self, network: keras.Model) -> _Bound:
        """The calls with ``network``'s current weights."""
        values = [value(w) for w in network.trainable_weights]
        fixed = [value(w) for w in network.non_trainable_weights]
        return _Bound(
            lambda a, b, share: self._errors(a, b, share, values, fixed),
            lambda packed: self._step(packed, values, fixed),
        )


class _Bound(NamedTuple):
    """A scorer's calls with one network's weights."""

    errors: Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]
    step: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


# one scorer an architecture (on a template: see greedy_rae._shared), for the life
# of the process; a network Keras cannot describe keeps one of its own
_shared_scorers: dict[tuple[str, int, bool], _TFScorer] = {}
_own_scorers: weakref.WeakKeyDictionary[keras.Model, dict[bool, _TFScorer]] = (
    weakref.WeakKeyDictionary()
)
# whether the shared scorer's template computes what a network does (checked once)
_checked: weakref.WeakKeyDictionary[keras.Model, bool] = weakref.WeakKeyDictionary()


def _tf_scorer(network: keras.Model, dim: int, weighted: bool) -> _Bound:
    """The compiled calls for ``network``'s current weights."""
    architecture = _shared.architecture(network)
    if architecture is not None:
        key = (architecture, dim, weighted)
        if key not in _shared_scorers:
            _shared_scorers[key] = _TFScorer(_shared.clone(network), dim, weighted)
        shared = _shared_scorers[key]
        if network not in _checked:
            _checked[network] = _shared.computes_like(shared.model, network, _shared.probe(dim))
        if _checked[network]:
            return shared.bound(network)
    own = _own_scorers.setdefault(network, {})
    if weighted not in own:
        own[weighted] = _TFScorer(network, dim, weighted)
    return own[weighted].bound(network)


def _pair_errors(scorer: _Bound, a: np.ndarray, b: np.ndarray, share: np.ndarray) -> np.ndarray:
    parts = [
        scorer.errors(
            tf.constant(a[s : s + CHUNK]),
            tf.constant(b[s : s + CHUNK]),
            tf.constant(share[s : s + CHUNK]),
        ).numpy()
        for s in range(0, len(a), CHUNK)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


class _PairMemo:
    """Same inputs, same outputs, whatever the batch.

    A batched matmul rounds a row differently depending on the batch it sits
    in, so two pairs with bitwise equal children could get different float32
    errors, and an exact tie (the post's own example has many) would no longer
    go to the earliest pair. Nodes with equal embedding bytes (and, for the
    weighted error, equal leaf counts) share a content class; a pair's error
    and parent embedding are computed once per pair of classes and reused.
    """

    def __init__(self, table: np.ndarray, weighted: bool) -> None:
        self.table = table
        self.weighted = weighted
        self.count = np.ones(len(table), dtype=np.int64)
        self.cls = np.full(len(table), -1, dtype=np.int64)
        self.classes: dict[bytes, int] = {}
        self.errors: dict[int, np.float32] = {}
        self.parents: dict[int, int] = {}  # pair class -> table row of its parent

    def classify(self, rows: np.ndarray) -> None:
        for r in rows:
            key = self.table[r].tobytes()
            if self.weighted:
                key += int(self.count[r]).to_bytes(8, "little")
            self.cls[r] = self.classes.setdefault(key, len(self.classes))

    def keys(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return np.asarray((self.cls[left] << 32) | self.cls[right])

    def left_share(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """n1 / (n1 + n2) of each pair, n1 and n2 its children's leaf counts."""
        n1 = self.count[left].astype(np.float64)
        return np.asarray(n1 / (n1 + self.count[right]), dtype=np.float32)

    def pair_errors(self, scorer: _Bound, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if not len(left):
            return np.zeros(0, dtype=np.float32)
        keys = self.keys(left, right)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        todo = [k for k, key in enumerate(unique.tolist()) if key not in self.errors]
        if todo:
            rows = first[todo]
            share = self.left_share(left[rows], right[rows])
            err = _pair_errors(scorer, self.table[left[rows]], self.table[right[rows]], share)
            check_finite(err, "reconstruction errors")
            for k, e in zip(todo, err):
                self.errors[int(unique[k])] = e
        values = np.array([self.errors[key] for key in unique.tolist()], dtype=np.float32)
        return values[inverse.reshape(-1)]

    def step(
        self,
        scorer: _Bound,
        left: np.ndarray,
        right: np.ndarray,
        node: np.ndarray,
        pair_left: np.ndarray,
        pair_right: np.ndarray,
    ) -> np.ndarray:
        """Embeds a step's new nodes (children left, right) and returns the
        errors of its new pairs (pair_left, pair_right), in one network call."""
        keys = self.keys(left, right).tolist()
        # a parent whose children's classes were merged before is a copy; one
        # computed now is computed once however often its key repeats
        compute: dict[int, int] = {}
        firsts_list: list[int] = []
        parent = np.full(len(node), -1, dtype=np.int32)
        for k, key in enumerate(keys):
            if key in self.parents:
                self.table[node[k]] = self.table[self.parents[key]]
                continue
            if key not in compute:
                compute[key] = len(compute)
                firsts_list.append(k)
            parent[k] = compute[key]
        firsts = np.array(firsts_list, dtype=np.int64)
        self.count[node] = self.count[left] + self.count[right]
        # pairs: a child that is a parent computed now comes from the call

        def computed_parent(child: np.ndarray) -> np.ndarray:
            """Each child's index among the parents computed now, else -1."""
            k = np.minimum(np.searchsorted(node, child), len(node) - 1)  # node ids increase
            return np.where(node[k] == child, parent[k], -1).astype(np.int32)

        new_left, new_right = computed_parent(pair_left), computed_parent(pair_right)
        share = self.left_share(pair_left, pair_right)
        meta = np.concatenate([[len(firsts), len(pair_left)], new_left, new_right, share])
        packed = np.concatenate(
            [
                meta.astype(np.float32),
                self.table[left[firsts]].ravel(),
                self.table[right[firsts]].ravel(),
                self.table[pair_left].ravel(),
                self.table[pair_right].ravel(),
            ]
        )
        h, err = scorer.step(tf.constant(packed))
        h, err = h.numpy(), err.numpy()
        check_finite(h, "embeddings")
        check_finite(err, "reconstruction errors")
        computed = parent >= 0
        self.table[node[computed]] = h[parent[computed]]
        for key, k in zip(compute, firsts.tolist()):
            self.parents[key] = int(node[k])
        self.classify(node)
        return self.canonical(pair_left, pair_right, err)

    def canonical(self, left: np.ndarray, right: np.ndarray, err: np.ndarray) -> np.ndarray:
        """err with every pair of the same classes given the one error of its
        key (the first computed), so equal inputs score equal."""
        keys = self.keys(left, right)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        values = err[first]
        for k, key in enumerate(unique.tolist()):
            values[k] = self.errors.setdefault(key, values[k])
        return values[inverse.reshape(-1)]


def tf_trees(
    leaves: list[np.ndarray], network: keras.Model, pairs: str, reconstruction: str
) -> list[Tree]:
    dim = leaves[0].shape[1]
    weighted = reconstruction == "weighted"
    scorer = _tf_scorer(network, dim, weighted)
    forest = _core.Forest([len(x) for x in leaves], pairs)
    table = np.zeros((forest.total_nodes, dim), dtype=np.float32)
    for t, x in enumerate(leaves):
        o = forest.offset(t)
        table[o : o + len(x)] = x
    memo = _PairMemo(table, weighted)
    memo.classify(
        np.concatenate([forest.offset(t) + np.arange(len(x)) for t, x in enumerate(leaves)])
    )
    left, right = forest.pending()
    forest.submit(memo.pair_errors(scorer, left, right))
    while not forest.done:
        left, right, node = forest.step()
        pair_left, pair_right = forest.pending()
        # the parents and their pairs in one call (past CHUNK pairs, the
        # rest in calls of their own)
        err = memo.step(scorer, left, right, node, pair_left[:CHUNK], pair_right[:CHUNK])
        if len(pair_left) > CHUNK:
            rest = memo.pair_errors(scorer, pair_left[CHUNK:], pair_right[CHUNK:])
            err = np.concatenate([err, rest])
        forest.submit(err)
    trees = []
    for t, x in enumerate(leaves):
        o = forest.offset(t)
        stats = {"pairs_scored": forest.pairs_scored(t), "pairs_rescored": 0, "scorer": "tf"}
        emb = table[o : o + 2 * len(x) - 1].copy()
        trees.append(Tree(forest.merges(t), forest.scores(t), emb, stats))
    return trees


def check_finite(values: np.ndarray, what: str) -> None:
    """The TF scorer's check of what the network computed (the native engine
    checks its own trees in the core)."""
    if not np.isfinite(values).all():
        raise FloatingPointError(
            f"the merge network produced non-finite {what}; the weights have diverged"
        )
