"""The original post's algorithm, as a plain-Python reference.

"Recursive Auto Encoders in TensorFlow 2.0" (2020), with only the changes it
needs to run on TF 2.21 / Keras 3: Input shapes as tuples, leaves as tensors,
gradients taken on ``trainable_variables`` without ``tape.watch``. Every
candidate pair is a separate Keras call on one tape, as in the post. The one
addition: merged nodes get the scipy id ``n + step`` instead of -1, so that
merges can be compared.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def merge_encoder(n_in):
    import keras

    a = keras.layers.Input((n_in,))
    b = keras.layers.Input((n_in,))
    c = keras.layers.Concatenate()([a, b])
    h = keras.layers.Dense(n_in)(c)
    o = keras.layers.Dense(n_in * 2)(h)
    return keras.models.Model(inputs=[a, b], outputs=[h, c, o])


class Node:
    def __init__(self, i, embedding, score, l=None, r=None):  # noqa: E741
        self.i = i
        self.score = score
        self.embedding = embedding
        self.left = l
        self.right = r

    def merge(self, other, merger):
        merged = merger([self.embedding, other.embedding])
        h = merged[0]
        c = merged[1]
        y = merged[2]
        score = tf.nn.l2_loss(y - c) + self.score + other.score
        return Node(-1, h, score, self, other)


def ts2leafs(ts):
    return [
        Node(i, tf.constant(np.asarray(ts[i], np.float32)[None]), tf.constant(0.0))
        for i in range(len(ts))
    ]


def merge(x, m, adjacent=False, n=None, steps=None):
    """The post's greedy merge; ``adjacent`` restricts candidates to j == i + 1."""
    if n is None:
        n, steps = len(x), []
    if len(x) > 1:
        min_loss = float("inf")
        min_node = None
        min_i = 0
        min_j = 0
        for i in range(len(x)):
            for j in range(len(x)):
                if i < j and (not adjacent or j == i + 1):
                    node = x[i].merge(x[j], m)
                    if node.score < min_loss:
                        min_node = node
                        min_loss = node.score
                        min_i = i
                        min_j = j
        min_node.i = n + len(steps)
        steps.append(min_node)
        next_x = x.copy()
        next_x[min_i] = min_node
        next_x = [next_x[idx] for idx in range(0, len(x)) if idx != min_j]
        return merge(next_x, m, adjacent, n, steps)
    else:
        return x[0], steps


def reference_tree(leaves, m, adjacent=False):
    """(merges, scores, embeddings of the merged nodes) of the post's greedy merge."""
    _, steps = merge(ts2leafs(leaves), m, adjacent)
    merges = np.array([[s.left.i, s.right.i] for s in steps], dtype=np.int64).reshape(-1, 2)
    scores = np.array([float(s.score) for s in steps], dtype=np.float64)
    emb = np.array([s.embedding.numpy()[0] for s in steps], dtype=np.float32)
    return merges, scores, emb.reshape(len(steps), len(leaves[0]))


def reference_gradients(leaves, m, adjacent=False):
    """Root score and its gradient with every candidate on one tape (the post's way)."""
    with tf.GradientTape() as tape:
        node, _ = merge(ts2leafs(leaves), m, adjacent)
    g = tape.gradient(node.score, m.trainable_variables)
    # one leaf: no merge, so the score does not depend on the weights
    g = [
        np.zeros(v.shape, np.float32) if d is None else d.numpy()
        for d, v in zip(g, m.trainable_variables)
    ]
    return float(node.score), g


def reference_train(leaves, m, steps, adjacent=False):
    """The post's training loop: one sequence, Adam with its defaults; the losses."""
    import keras

    optimizer = keras.optimizers.Adam()
    x = ts2leafs(leaves)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            node, _ = merge(x, m, adjacent)
        losses.append(float(node.score))
        g = tape.gradient(node.score, m.trainable_variables)
        optimizer.apply_gradients(zip(g, m.trainable_variables))
    return losses
