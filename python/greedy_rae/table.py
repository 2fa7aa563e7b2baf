"""The word-embedding table of a text RAE, and its sparse optimizer.

The table is a ``keras.layers.Embedding`` (``len(vocabulary)`` rows of width
``dim``); a text's leaves are its rows, gathered at the table's current values
before each build, so its trees are those of the gathered vectors. Training
hands each leaf's gradient (from its parent's reconstruction and from the
head's cross-entropy on the leaf) to the row it came from; a token seen twice
gets both.

No step costs O(V): the rows are gathered, not the table copied, and the table
is updated sparsely, by a lazy Adam (the update of TensorFlow Addons'
``LazyAdam``): the first and second moments of the rows used in the minibatch
are updated and those rows move; rows not used keep their values and their
moments. It takes the RAE optimizer's current learning rate (and its
``beta_1``, ``beta_2`` and ``epsilon`` when it has them: Adam's defaults
otherwise). A regularizer on the table (``embeddings_regularizer``) counts
the rows a minibatch uses, each once, in its loss and their gradients: the
whole table's would cost O(V) a step.

The lazy Adam is written twice: in TensorFlow (:meth:`EmbeddingTable.apply`,
for the graph replay and strategies) and in numpy
(:meth:`EmbeddingTable.apply_arrays`, for the numpy replay, which compiles
nothing). ``tests/test_text.py`` pins both to Adam's formula.
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae._variables import current_rate, gather
from greedy_rae.text import Vocabulary, initial_table

log = logging.getLogger("greedy_rae")


class EmbeddingTable:
    """The rows of a vocabulary's words, trainable or frozen."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        initial: np.ndarray,
        trainable: bool = True,
        regularizer: Any = None,
        anchored: bool = False,
    ) -> None:
        self.vocabulary = vocabulary
        self.trainable = bool(trainable)
        # a Keras regularizer, applied to the rows a minibatch uses: to their
        # values, or (anchored) to how far they moved from the start
        self.regularizer = keras.regularizers.get(regularizer)
        self.start: tf.Variable | None = None
        if anchored:
            self.start = tf.Variable(initial, trainable=False, name="words_start")
        rows, dim = initial.shape
        self.layer = keras.layers.Embedding(
            rows,
            dim,
            embeddings_initializer="zeros",  # the values are assigned below
            trainable=self.trainable,
            name="words",
        )
        self.layer.build()
        self.layer.embeddings.assign(initial)
        self.variable: tf.Variable = self.layer.embeddings.value
        self._moments: list[tf.Variable] | None = None

    @property
    def dim(self) -> int:
        return int(self.variable.shape[1])

    def leaves(self, ids: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """Each sequence's leaves: its rows at the table's current values (float32);
        and every leaf's row, the sequences one after another (int32)."""
        flat = np.concatenate(ids).astype(np.int32, copy=False)
        rows = gather(self.variable, flat)
        return np.split(rows, np.cumsum([len(x) for x in ids])[:-1]), flat

    def values(self) -> np.ndarray:
        """A copy of the whole table (O(V d): not for training steps)."""
        return np.asarray(self.variable.numpy())

    # -- the sparse optimizer ------------------------------------------------------

    def optimizer_variables(self) -> list[tf.Variable]:
        """The lazy Adam's state: its step count and the two moments of every row."""
        if self._moments is None:
            self._moments = [
                tf.Variable(tf.zeros([], tf.int64), trainable=False, name="words_steps"),
                tf.Variable(tf.zeros_like(self.variable), trainable=False, name="words_m"),
                tf.Variable(tf.zeros_like(self.variable), trainable=False, name="words_v"),
            ]
        return self._moments

    def _step(
        self, optimizer: keras.optimizers.Optimizer, grads: tf.Tensor, ids: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """The lazy Adam step's new values (graph code): the rows, their moments
        and the step to subtract, and the new step count. ``grads[k]`` is the
        gradient of the leaf that came from row ``ids[k]``; repeated rows add up."""
        steps, m, v = self.optimizer_variables()
        rows, where = tf.unique(ids)
        g = tf.math.unsorted_segment_sum(grads, where, tf.size(rows))
        beta_1, beta_2, epsilon = _adam_constants(optimizer)
        count = steps + 1
        t = tf.cast(count, tf.float32)
        rate = tf.cast(optimizer.learning_rate, tf.float32)
        alpha = rate * tf.sqrt(1.0 - tf.pow(beta_2, t)) / (1.0 - tf.pow(beta_1, t))
        m_rows = beta_1 * tf.gather(m, rows) + (1.0 - beta_1) * g
        v_rows = beta_2 * tf.gather(v, rows) + (1.0 - beta_2) * tf.square(g)
        return rows, m_rows, v_rows, alpha * m_rows / (tf.sqrt(v_rows) + epsilon), count

    def apply(
        self, optimizer: keras.optimizers.Optimizer, grads: tf.Tensor, ids: tf.Tensor
    ) -> None:
        """One lazy Adam step on the rows ``ids`` (graph code)."""
        steps, m, v = self.optimizer_variables()
        rows, m_rows, v_rows, step, count = self._step(optimizer, grads, ids)
        steps.assign(count)
        m.scatter_update(tf.IndexedSlices(m_rows, rows))
        v.scatter_update(tf.IndexedSlices(v_rows, rows))
        self.variable.scatter_sub(tf.IndexedSlices(step, rows))

    def apply_arrays(
        self, optimizer: keras.optimizers.Optimizer, grads: np.ndarray, ids: np.ndarray
    ) -> None:
        """:meth:`apply` computed in numpy (the numpy replay's step): the same
        lazy Adam, its rows read and written by the raw variable operations."""
        f32 = np.float32
        steps, m, v = self.optimizer_variables()
        read = tf.raw_ops.ReadVariableOp(resource=steps.handle, dtype=tf.int64)
        count = int(read.numpy()) + 1
        tf.raw_ops.AssignVariableOp(resource=steps.handle, value=np.int64(count))
        if len(ids) == 0:
            return
        # each row's gradient: its leaves' summed
        order = np.argsort(ids, kind="stable")
        ordered = ids[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        rows = ordered[starts].astype(np.int32)
        g = np.add.reduceat(grads[order], starts, axis=0)
        beta_1, beta_2, epsilon = _adam_constants(optimizer)
        t = f32(count)
        rate = current_rate(optimizer)
        alpha = (
            rate * np.sqrt(f32(1) - np.power(f32(beta_2), t)) / (f32(1) - np.power(f32(beta_1), t))
        )
        m_rows = f32(beta_1) * gather(m, rows) + f32(1.0 - beta_1) * g
        v_rows = f32(beta_2) * gather(v, rows) + f32(1.0 - beta_2) * np.square(g)
        step = alpha * m_rows / (np.sqrt(v_rows) + f32(epsilon))
        tf.raw_ops.ResourceScatterUpdate(resource=m.handle, indices=rows, updates=m_rows)
        tf.raw_ops.ResourceScatterUpdate(resource=v.handle, indices=rows, updates=v_rows)
        tf.raw_ops.ResourceScatterSub(resource=self.variable.handle, indices=rows, updates=step)

    def apply_mirrored(
        self,
        strategy: tf.distribute.Strategy,
        optimizer: keras.optimizers.Optimizer,
        grads: tf.Tensor,
        ids: tf.Tensor,
    ) -> None:
        """The same step under a strategy, in cross-replica context: every copy of
        the table and its moments is identical, so the new rows are computed once
        and written into each copy (graph code)."""
        steps, m, v = self.optimizer_variables()
        rows, m_rows, v_rows, step, count = self._step(optimizer, grads, ids)
        new_rows = tf.gather(self.variable, rows) - step

        def put(copy: tf.Variable, values: tf.Tensor) -> Any:
            return copy.scatter_update(tf.IndexedSlices(values, rows))

        extended = strategy.extended
        extended.update(steps, lambda copy, value: copy.assign(value), args=(count,))
        extended.update(m, put, args=(m_rows,))
        extended.update(v, put, args=(v_rows,))
        extended.update(self.variable, put, args=(new_rows,))

    def penalty(self, ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """The regularizer on the rows ``ids`` use (each once), those rows, and
        its gradient on them (graph code)."""
        rows, _ = tf.unique(ids)
        with tf.GradientTape() as tape:
            values = tf.gather(self.variable, rows)
            tape.watch(values)
            moved = values if self.start is None else values - tf.gather(self.start, rows)
            penalty = self.regularizer(moved)
        return penalty, rows, tape.gradient(penalty, values)

    def gradient(self, grads: tf.Tensor, ids: tf.Tensor) -> tf.IndexedSlices:
        """The table's gradient as sparse rows (repeated ids add up when densified)."""
        return tf.IndexedSlices(grads, ids, dense_shape=tf.shape(self.variable, out_type=tf.int64))


def _adam_constants(optimizer: keras.optimizers.Optimizer) -> tuple[float, float, float]:
    """The lazy Adam's ``beta_1``, ``beta_2`` and ``epsilon``: the optimizer's
    when it has them, Adam's defaults otherwise."""
    return (
        float(getattr(optimizer, "beta_1", 0.9)),
        float(getattr(optimizer, "beta_2", 0.999)),
        float(getattr(optimizer, "epsilon", 1e-7)),
    )


def make_table(
    vocabulary: Vocabulary | list[str] | None,
    embeddings: object,
    trainable: bool,
    regularizer: Any,
    dim: int,
    anchored: bool = False,
) -> EmbeddingTable | None:
    """A text RAE's word table from the RAE's arguments (None without a vocabulary)."""
    if vocabulary is None:
        if embeddings is not None or regularizer is not None:
            raise ValueError("embeddings need a vocabulary: give vocabulary=... too")
        return None
    if not isinstance(vocabulary, Vocabulary):
        if isinstance(vocabulary, str) or not isinstance(vocabulary, (list, tuple)):
            raise TypeError(
                "vocabulary must be a Vocabulary or a list of words,"
                f" got {type(vocabulary).__name__}"
            )
        vocabulary = Vocabulary(vocabulary)
    if not isinstance(trainable, (bool, np.bool_)):
        raise ValueError(f"trainable_embeddings must be True or False, got {trainable!r}")
    initial, found = initial_table(vocabulary, dim, embeddings)
    if embeddings is not None:
        log.info("embeddings: %d of %d rows from the vectors given", found, len(vocabulary))
    if anchored and regularizer is None:
        raise ValueError(
            "embeddings_anchor=True regularises the table toward its start: give an"
            " embeddings_regularizer (or l2=) too"
        )
    return EmbeddingTable(vocabulary, initial, bool(trainable), regularizer, anchored)
