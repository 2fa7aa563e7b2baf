"""The result of one greedy build."""

from __future__ import annotations

from typing import Any

import numpy as np


class Tree:
    """A binary merge tree over ``n`` leaves.

    Ids follow scipy's linkage convention: leaves are ``0..n-1`` and the merge
    made at step ``k`` creates node ``n + k``.

    Attributes
    ----------
    merges : numpy.ndarray
        int64 ``(n-1, 2)``: left and right child ids of the merge made at step ``k``.
    scores : numpy.ndarray
        float64 ``(n-1,)``: cumulative score of node ``n + k`` (its reconstruction
        error plus its children's scores).
    embeddings : numpy.ndarray
        float32 ``(2n-1, dim)``: every node's embedding, leaves first.
    stats : dict
        ``pairs_scored``: pair scores computed when the candidates appear: in
        all pairs mode exactly ``(n-1)**2`` with the TF scorer (its cache keeps
        each one), at most that with the native scorer (it skips the new pairs
        that the lower bound ``score(left) + score(right)`` rules out); at most
        ``3n`` in adjacent mode. ``pairs_rescored``: pairs computed again when the
        native scorer rescans a stale best-partner row instead of keeping an
        n x n matrix (0 for TF). ``scorer``: ``"native"`` or ``"tf"``.
    """

    def __init__(
        self,
        merges: np.ndarray,
        scores: np.ndarray,
        embeddings: np.ndarray,
        stats: dict[str, Any] | None = None,
    ) -> None:
        self.merges = np.asarray(merges, dtype=np.int64).reshape(-1, 2)
        self.scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        self.embeddings = np.asarray(embeddings)
        self.stats: dict[str, Any] = dict(stats or {})
        n = len(self.merges) + 1
        if len(self.scores) != n - 1 or len(self.embeddings) != 2 * n - 1:
            raise ValueError("merges, scores and embeddings describe trees of different sizes")

    @property
    def n(self) -> int:
        """Number of leaves."""
        return len(self.merges) + 1

    @property
    def score(self) -> float:
        """Root score: the sum of the reconstruction errors of every merge (0 for one leaf)."""
        return float(self.scores[-1]) if len(self.scores) else 0.0

    @property
    def root(self) -> np.ndarray:
        """Embedding of the root, ``(dim,)``."""
        return np.asarray(self.embeddings[-1])

    def node_score(self, node: int) -> float:
        """Cumulative score of any node id (0 for a leaf)."""
        return 0.0 if node < self.n else float(self.scores[node - self.n])

    def to_linkage(self) -> np.ndarray:
        """The tree as a scipy linkage matrix.

        Returns
        -------
        numpy.ndarray
            float64 ``(n-1, 4)``: left id, right id, the new node's cumulative score
            (non-decreasing towards the root, so dendrograms draw correctly) and the
            number of leaves under it.
        """
        n = self.n
        z = np.zeros((n - 1, 4), dtype=np.float64)
        if n == 1:
            return z
        counts = np.ones(2 * n - 1, dtype=np.int64)
        for k, (left, right) in enumerate(self.merges):
            counts[n + k] = counts[left] + counts[right]
        z[:, :2] = self.merges
        z[:, 2] = self.scores
        z[:, 3] = counts[n:]
        return z

    def __str__(self) -> str:
        # Same layout as the post's Node.print: offset, id, score, mean embedding,
        # children one tab deeper.
        n = self.n
        lines = []
        stack = [(2 * n - 2, "")]
        while stack:
            node, offset = stack.pop()
            mean = float(np.mean(self.embeddings[node]))
            lines.append(f"{offset} {node} {self.node_score(node)} {mean}")
            if node >= n:
                left, right = self.merges[node - n]
                stack.append((int(right), offset + "\t"))
                stack.append((int(left), offset + "\t"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Tree(n={self.n}, score={self.score:.6g})"
