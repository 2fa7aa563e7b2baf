"""Greedy tree building: input checks, the TF scorer loop and the native scorer."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _core
from greedy_rae.network import NativeSpec, native_spec, network_dim
from greedy_rae.tree import Tree

PAIR_MODES = ("all", "adjacent")
SCORERS = ("auto", "native", "tf")
RECONSTRUCTIONS = ("plain", "weighted")

# Candidates scored per TF call; bounds the memory of the first step of long
# all-pairs builds.
_CHUNK = 1 << 16


def check_pairs(pairs: object) -> str:
    if not isinstance(pairs, str) or pairs not in PAIR_MODES:
        raise ValueError(f"pairs must be 'all' or 'adjacent', got {pairs!r}")
    return pairs


def check_reconstruction(reconstruction: object) -> str:
    if not isinstance(reconstruction, str) or reconstruction not in RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be 'plain' or 'weighted', got {reconstruction!r}")
    return reconstruction


def as_leaves(leaves: object, dim: int | None = None, what: str = "leaves") -> np.ndarray:
    """One sequence as a finite float32 ``(n, dim)`` array, or a clear error."""
    if isinstance(leaves, (str, bytes)) or leaves is None:
        raise TypeError(f"{what} must be a numeric (n, dim) array, got {type(leaves).__name__}")
    if isinstance(leaves, tf.Tensor):
        leaves = leaves.numpy()
    try:
        x = np.asarray(leaves)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{what} must be a rectangular (n, dim) array: {e}") from None
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{what} must be a numeric (n, dim) array, got dtype {x.dtype}")
    if np.iscomplexobj(x):
        raise TypeError(f"{what} must be real-valued, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n, dim) array, got {x.ndim}-D shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} has no leaves: a tree needs at least one")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{what} have width {x.shape[1]} but the network expects width {dim}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{what} contain NaN or inf (first at row {bad[0]}, column {bad[1]})")
    return x


def as_sequences(sequences: object, dim: int) -> list[np.ndarray]:
    """A list of ``(n_i, dim)`` arrays, checked one by one."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        raise ValueError(
            "sequences must be a list of (n, dim) arrays; for one sequence pass [leaves]"
        )
    if isinstance(sequences, (str, bytes, dict)) or not isinstance(
        sequences, (Sequence, np.ndarray, Iterable)
    ):
        raise TypeError(
            f"sequences must be a list of (n, dim) arrays, got {type(sequences).__name__}"
        )
    if not isinstance(sequences, (Sequence, np.ndarray)):
        sequences = list(sequences)  # a generator or another iterable, read once
    if len(sequences) == 0:
        raise ValueError("sequences is empty: give at least one (n, dim) array")
    out = [as_leaves(s, None, f"sequence {i}") for i, s in enumerate(sequences)]
    widths = sorted({x.shape[1] for x in out})
    if len(widths) > 1:
        raise ValueError(f"sequences mix widths {widths}; all must have the same width")
    if widths[0] != dim:
        raise ValueError(f"sequences have width {widths[0]} but the network expects width {dim}")
    return out


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1 << 62


# Bytes of the TF path's Python memo per pair it scores (a dict entry of a
# content-class key and a float32), on the high side
_MEMO_PAIR = 160


def estimate_memory(lengths: Sequence[int], dim: int, scorer: str, pairs: str) -> int:
    """Bytes a build needs beyond its inputs (an estimate, on the high side).

    ``scorer``: ``"linear"`` or ``"nonlinear"`` (native networks) or ``"tf"``.
    The core reports what each of its builds allocates; the TF path adds its
    node table, its memo of pair errors and one scoring call's tensors.
    """
    kind = "cache" if scorer == "tf" else scorer
    total = 0
    for n in lengths:
        total += _core.build_bytes(n, dim, pairs, kind)
        if scorer == "tf":
            scored = (n - 1) ** 2 if pairs == "all" else 3 * n
            total += (2 * n - 1) * dim * 4 + n * 64 + scored * _MEMO_PAIR
    if scorer == "tf":
        total += min(max(lengths) ** 2, _CHUNK) * dim * 4 * 8  # one scoring call's tensors
    return total


def check_memory(lengths: Sequence[int], dim: int, scorer: str, pairs: str) -> None:
    need = estimate_memory(lengths, dim, scorer, pairs)
    have = _available_memory()
    if need > have:
        gib = 1 << 30
        hint = (
            " The TF scorer keeps an n x n score cache in all-pairs mode; the native engine"
            " (networks of merge_network's structure) needs O(n * dim)."
            if scorer == "tf" and pairs == "all"
            else ""
        )
        raise MemoryError(
            f"building trees for sequences of up to {max(lengths)} leaves needs about"
            f" {need / gib:.1f} GiB but only {have / gib:.1f} GiB is available.{hint}"
        )


def reconstruction_errors(
    c: tf.Tensor, y: tf.Tensor, left_share: tf.Tensor | None, dim: int
) -> tf.Tensor:
    """Per-pair reconstruction errors: plain ``|y - c|^2 / 2`` (``left_share`` None),
    or weighted, the left half's error times ``left_share = n1 / (n1 + n2)`` plus
    the right half's times ``1 - left_share``."""
    square = tf.square(y - c)
    if left_share is None:
        return 0.5 * tf.reduce_sum(square, axis=1)
    e1 = 0.5 * tf.reduce_sum(square[:, :dim], axis=1)
    e2 = 0.5 * tf.reduce_sum(square[:, dim:], axis=1)
    return left_share * e1 + (1.0 - left_share) * e2


class _TFScorer:
    """Compiled calls of any Keras merge network: pair errors (the first step),
    and one greedy step (its parents and the errors of the pairs they form)."""

    def __init__(self, network: keras.Model, dim: int, weighted: bool) -> None:
        spec = tf.TensorSpec([None, dim], tf.float32)
        share = tf.TensorSpec([None], tf.float32)

        def pair_errors(a: tf.Tensor, b: tf.Tensor, left_share: tf.Tensor) -> tf.Tensor:
            _, c, y = network([a, b], training=False)
            return reconstruction_errors(c, y, left_share if weighted else None, dim)

        @tf.function(input_signature=[spec, spec, share])
        def errors(a: tf.Tensor, b: tf.Tensor, left_share: tf.Tensor) -> tf.Tensor:
            return pair_errors(a, b, left_share)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def step(packed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
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
            h = network([a, b], training=False)[0]
            padded = tf.concat([h, tf.zeros([1, dim])], axis=0)

            def side(rows: tf.Tensor, parent: tf.Tensor) -> tf.Tensor:
                new = tf.gather(padded, tf.where(parent >= 0, parent, p))
                return tf.where((parent >= 0)[:, None], new, rows)

            return h, pair_errors(side(left, left_parent), side(right, right_parent), left_share)

        self.errors = errors
        # a concrete function: one call a greedy step, without re-binding
        # the arguments to a signature each time
        self.step = step.get_concrete_function()


_tf_scorers: weakref.WeakKeyDictionary[keras.Model, dict[bool, _TFScorer]] = (
    weakref.WeakKeyDictionary()
)


def _tf_scorer(network: keras.Model, dim: int, weighted: bool) -> _TFScorer:
    scorers = _tf_scorers.setdefault(network, {})
    if weighted not in scorers:
        scorers[weighted] = _TFScorer(network, dim, weighted)
    return scorers[weighted]


def _pair_errors(scorer: _TFScorer, a: np.ndarray, b: np.ndarray, share: np.ndarray) -> np.ndarray:
    parts = [
        scorer.errors(
            tf.constant(a[s : s + _CHUNK]),
            tf.constant(b[s : s + _CHUNK]),
            tf.constant(share[s : s + _CHUNK]),
        ).numpy()
        for s in range(0, len(a), _CHUNK)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def check_finite(values: np.ndarray, what: str) -> None:
    if not np.isfinite(values).all():
        raise FloatingPointError(
            f"the merge network produced non-finite {what}; the weights have diverged"
        )


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

    def pair_errors(self, scorer: _TFScorer, left: np.ndarray, right: np.ndarray) -> np.ndarray:
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
        scorer: _TFScorer,
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


def _build_tf(
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
        # the parents and their pairs in one call (past _CHUNK pairs, the
        # rest in calls of their own)
        err = memo.step(scorer, left, right, node, pair_left[:_CHUNK], pair_right[:_CHUNK])
        if len(pair_left) > _CHUNK:
            rest = memo.pair_errors(scorer, pair_left[_CHUNK:], pair_right[_CHUNK:])
            err = np.concatenate([err, rest])
        forest.submit(err)
    trees = []
    for t, x in enumerate(leaves):
        o = forest.offset(t)
        stats = {"pairs_scored": forest.pairs_scored(t), "pairs_rescored": 0, "scorer": "tf"}
        emb = table[o : o + 2 * len(x) - 1].copy()
        trees.append(Tree(forest.merges(t), forest.scores(t), emb, stats))
    return trees


def _build_native(
    leaves: list[np.ndarray],
    spec: NativeSpec,
    pairs: str,
    reconstruction: str,
    progress: bool,
    threads: int,
) -> list[Tree]:
    callback = None
    if progress:
        bar = keras.utils.Progbar(sum(len(x) - 1 for x in leaves), unit_name="merge")
        callback = bar.update
    results = _core.build_native_batch(
        leaves, *spec.core_args(), reconstruction, pairs, threads, callback
    )
    # Scores are sums of non-negative errors, so a NaN or inf anywhere shows
    # in the root score; an embedding's shows in the scores of its pairs,
    # except the root's own: checking the roots covers every node.
    roots = np.array([r[1][-1] for r in results if len(r[1])], dtype=np.float64)
    check_finite(roots, "scores")
    check_finite(np.stack([r[2][-1] for r in results]), "embeddings")
    return [
        Tree(
            merges,
            scores,
            emb,
            {"pairs_scored": scored, "pairs_rescored": rescored, "scorer": "native"},
        )
        for merges, scores, emb, scored, rescored in results
    ]


def resolve_scorer(network: keras.Model, scorer: str) -> tuple[str, NativeSpec | None]:
    """``("native", spec)`` or ``("tf", None)`` for a scorer request."""
    if not isinstance(scorer, str) or scorer not in SCORERS:
        raise ValueError(f"scorer must be 'auto', 'native' or 'tf', got {scorer!r}")
    if scorer == "tf":
        return "tf", None
    spec = native_spec(network)
    if spec is None:
        if scorer == "native":
            raise ValueError(
                "scorer='native' computes only networks of merge_network's structure (concat,"
                " Dense(dim) with a linear, tanh or relu activation, optionally"
                " UnitNormalization, Dense(2 * dim)); use scorer='tf' or 'auto'"
            )
        return "tf", None
    return "native", spec


def build_trees(
    sequences: list[np.ndarray],
    network: keras.Model,
    pairs: str = "all",
    scorer: str = "auto",
    progress: bool = False,
    threads: int = 0,
    reconstruction: str = "plain",
) -> list[Tree]:
    """Greedy trees of checked sequences (see :func:`as_sequences`), all in one pass."""
    pairs = check_pairs(pairs)
    reconstruction = check_reconstruction(reconstruction)
    kind, spec = resolve_scorer(network, scorer)
    if spec is not None:
        kind = "linear" if spec.linear else "nonlinear"
    check_memory([len(x) for x in sequences], sequences[0].shape[1], kind, pairs)
    if spec is not None:
        return _build_native(sequences, spec, pairs, reconstruction, progress, threads)
    return _build_tf(sequences, network, pairs, reconstruction)


def greedy_tree(
    leaves: object,
    network: keras.Model,
    pairs: str = "all",
    reconstruction: str = "plain",
    *,
    scorer: str = "auto",
    progress: bool = False,
) -> Tree:
    """Greedily merge a sequence of vectors into a binary tree.

    At every step the candidate pair with the lowest score (its reconstruction
    error plus its children's scores) is merged; exact ties go to the earliest
    pair. The new node takes the left child's place in the list.

    Parameters
    ----------
    leaves : array-like
        ``(n, dim)`` leaf vectors, ``n >= 1``, all finite.
    network : keras.Model
        Merge network ``[a, b] -> [h, c, y]``, such as :func:`merge_network`.
    pairs : {"all", "adjacent"}
        ``"all"``: every pair ``(i, j)``, ``i < j``, of the current list is a
        candidate (the original post); ``"adjacent"``: only neighbours
        (Socher et al. 2011).
    reconstruction : {"plain", "weighted"}
        ``"plain"``: a merge's error is ``|y - c|^2 / 2`` (the post);
        ``"weighted"``: each child's half weighted by its share of the leaves,
        ``(n1 |c1 - y1|^2 + n2 |c2 - y2|^2) / (2 (n1 + n2))`` (Socher et al. 2011).
        It changes the greedy choice and the scores alike.
    scorer : {"auto", "native", "tf"}
        ``"native"`` runs the whole loop in C++ and takes every network that
        :func:`merge_network` builds (or one of the same structure); ``"tf"``
        calls the Keras network in batches and takes any network; ``"auto"``
        picks native when it applies.
    progress : bool
        Show a progress bar over the merges (native scorer).

    Returns
    -------
    Tree
    """
    dim = network_dim(network)
    x = as_leaves(leaves, dim)
    return build_trees([x], network, pairs, scorer, progress, reconstruction=reconstruction)[0]
