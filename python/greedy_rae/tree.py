"""The result of one greedy build."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
        # leaf names (a text RAE's words): the exports' and print's default
        self.labels: list[str] | None = None
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

    # -- exports ---------------------------------------------------------------

    def _labels(self, labels: Sequence[object] | None) -> list[str]:
        if labels is None:
            if self.labels is not None:
                return list(self.labels)
            return [str(i) for i in range(self.n)]
        names = [str(x) for x in labels]
        if len(names) != self.n:
            raise ValueError(f"labels has {len(names)} names but the tree has {self.n} leaves")
        return names

    def _postorder(self) -> list[int]:
        """Node ids, children before parents, left before right (no recursion)."""
        n = self.n
        out: list[int] = []
        stack = [(2 * n - 2, False)]
        while stack:
            node, expanded = stack.pop()
            if node < n or expanded:
                out.append(node)
                continue
            left, right = self.merges[node - n]
            stack += [(node, True), (int(right), False), (int(left), False)]
        return out

    def _fold(self, leaf: Any, merge: Any) -> Any:
        """Combine the tree bottom-up: leaf(id) at leaves, merge(id, left, right) above."""
        n = self.n
        done: dict[int, Any] = {}
        for node in self._postorder():
            if node < n:
                done[node] = leaf(node)
            else:
                left, right = (int(c) for c in self.merges[node - n])
                done[node] = merge(node, done.pop(left), done.pop(right))
        return done[2 * n - 2]

    def to_newick(self, labels: Sequence[object] | None = None) -> str:
        """The tree in Newick format, ending with ``;``.

        Leaves are named by ``labels`` (default: their indices); a branch's
        length is the difference of the cumulative scores of its ends, so that
        leaves sit at 0 and each merged node at its score.
        """
        names = [_newick_name(x) for x in self._labels(labels)]
        height = np.concatenate([np.zeros(self.n), self.scores])

        def merge(node: int, left: str, right: str) -> str:
            lengths = [height[node] - height[int(c)] for c in self.merges[node - self.n]]
            return f"({left}:{lengths[0]:.17g},{right}:{lengths[1]:.17g})"

        return str(self._fold(lambda i: names[i], merge)) + ";"

    def to_bracket(self, labels: Sequence[object] | None = None) -> str:
        """The tree as labelled brackets, ``(4 (3 0 1) 2)``: each merged node as
        ``(id left right)``, leaves by their labels; ``nltk.Tree.fromstring`` reads
        it as a tree whose inner labels are the node ids. Labels given may not
        contain spaces or brackets; a text tree's own words are escaped as the
        Penn Treebank does (``(`` as ``-LRB-``, ``)`` as ``-RRB-``, whitespace
        as ``_``)."""
        names = self._labels(labels)
        if labels is None and self.labels is not None:
            names = [_bracket_word(w) for w in names]
        for name in names:
            if not name or re.search(r"[\s()]", name):
                raise ValueError(
                    f"bracket labels cannot be empty or hold spaces or brackets, got {name!r}"
                )
        if self.n == 1:
            return names[0]
        return str(self._fold(lambda i: names[i], lambda node, a, b: f"({node} {a} {b})"))

    def to_dot(self, labels: Sequence[object] | None = None) -> str:
        """The tree as a graphviz digraph: leaves by their labels, merged nodes
        by their id and score, edges from parent to children (left first)."""
        names = self._labels(labels)
        lines = ["digraph tree {", "  node [shape=box];"]
        for i in range(self.n):
            lines.append(f"  n{i} [label={_dot_string(names[i])}, shape=ellipse];")
        for k, (left, right) in enumerate(self.merges):
            node = self.n + k
            lines.append(f'  n{node} [label="{node}\\n{self.scores[k]:.6g}"];')
            lines.append(f"  n{node} -> n{int(left)};")
            lines.append(f"  n{node} -> n{int(right)};")
        lines.append("}")
        return "\n".join(lines)

    def to_dict(self, labels: Sequence[object] | None = None) -> dict[str, Any]:
        """The tree as nested dicts, JSON-serialisable.

        A merged node is ``{"id", "score", "children": [left, right]}``; a leaf
        ``{"id", "score": 0.0, "index"}``, ``index`` its position in the
        sequence, and ``"label"``, its name, when the leaves are named
        (``labels``, or a text RAE's words).
        """
        names = None if labels is None and self.labels is None else self._labels(labels)

        def leaf(i: int) -> dict[str, Any]:
            out: dict[str, Any] = {"id": i, "score": 0.0, "index": i}
            if names is not None:
                out["label"] = names[i]
            return out

        def merge(node: int, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
            return {
                "id": node,
                "score": float(self.scores[node - self.n]),
                "children": [left, right],
            }

        return self._fold(leaf, merge)  # type: ignore[no-any-return]

    def plot(self, ax: Any = None, labels: Sequence[object] | None = None) -> Any:
        """Draw the tree as a dendrogram (scipy and matplotlib), heights the node scores.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; default the current axes.
        labels : sequence, optional
            Leaf names; default the leaf indices.

        Returns
        -------
        matplotlib Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(
                "Tree.plot needs matplotlib: pip install 'greedy-rae[plot]'"
            ) from None
        from scipy.cluster.hierarchy import dendrogram

        if self.n < 2:
            raise ValueError("a tree of one leaf has no merges to plot")
        if ax is None:
            ax = plt.gca()
        dendrogram(self.to_linkage(), labels=self._labels(labels), ax=ax)
        ax.set_ylabel("score")
        return ax

    # -- flat clusters ---------------------------------------------------------

    def clusters(self, k: int) -> np.ndarray:
        """Flat clusters: the leaves' cluster numbers ``1..k`` when the tree is cut
        into ``k`` subtrees (the last ``k - 1`` merges undone), as scipy's
        ``fcluster(tree.to_linkage(), k, "maxclust")`` groups them; clusters are
        numbered in the order of their first leaf. int64 ``(n,)``."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.n:
            raise ValueError(f"k must be an integer in 1..{self.n} (the leaves), got {k!r}")
        parent = np.arange(2 * self.n - 1)
        for step, (a, b) in enumerate(self.merges[: self.n - int(k)]):
            parent[a] = parent[b] = self.n + step
        root = np.arange(self.n)
        for i in range(self.n):  # follow each leaf up the kept merges
            while parent[root[i]] != root[i]:
                root[i] = parent[root[i]]
        _, first = np.unique(root, return_index=True)
        order = {int(root[i]): c + 1 for c, i in enumerate(sorted(first))}
        return np.array([order[int(r)] for r in root], dtype=np.int64)

    def segments(self, k: int) -> list[tuple[int, int]]:
        """The ``k`` contiguous segments of a tree of adjacent merges: the
        ``(start, stop)`` leaf ranges of the ``k`` subtrees left when its last
        ``k - 1`` merges are undone, in order. Raises ``ValueError`` when a
        cluster is not contiguous (a tree of all pairs may merge far leaves)."""
        labels = self.clusters(k)
        bounds = [0] + [i for i in range(1, self.n) if labels[i] != labels[i - 1]] + [self.n]
        if len(bounds) - 1 != k:
            raise ValueError(
                "the tree's clusters are not contiguous: segments need a tree of adjacent"
                " pairs (pairs='adjacent')"
            )
        return [(bounds[j], bounds[j + 1]) for j in range(k)]

    # -- notebooks ---------------------------------------------------------------

    def _repr_svg_(self) -> str | None:
        """A dendrogram for Jupyter (needs matplotlib); None falls back to the text."""
        if self.n < 2:
            return None
        try:
            from matplotlib.figure import Figure  # no pyplot state: a notebook's backend stays
        except ImportError:
            return None
        import io

        fig = Figure(figsize=(min(2 + 0.3 * self.n, 16), 3))
        self.plot(ax=fig.subplots())
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")
        return buffer.getvalue()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text form: the indented tree, as ``print(tree)``."""
        printer.text(repr(self) if cycle else str(self))

    def __str__(self) -> str:
        return self.to_text()

    def to_text(self, labels: Sequence[object] | None = None) -> str:
        """The indented form of ``print(tree)``, the post's ``Node.print``: a line
        a node (tab-indented offset, id, score, mean of its embedding), children
        one tab deeper; a leaf's line ends with its name when the leaves are
        named (``labels``, or a text RAE's words)."""
        names = None if labels is None and self.labels is None else self._labels(labels)
        n = self.n
        lines = []
        stack = [(2 * n - 2, "")]
        while stack:
            node, offset = stack.pop()
            mean = float(np.mean(self.embeddings[node]))
            word = f" {names[node]}" if names is not None and node < n else ""
            lines.append(f"{offset} {node} {self.node_score(node)} {mean}{word}")
            if node >= n:
                left, right = self.merges[node - n]
                stack.append((int(right), offset + "\t"))
                stack.append((int(left), offset + "\t"))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Tree(n={self.n}, score={self.score:.6g})"


def _newick_name(name: str) -> str:
    """A Newick label, quoted when it holds characters the format reserves."""
    if name and not re.search(r"[\s(),:;\[\]'_]", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _bracket_word(word: str) -> str:
    """A word as a bracket-format leaf (Penn Treebank escapes)."""
    word = re.sub(r"\s+", "_", word.replace("(", "-LRB-").replace(")", "-RRB-"))
    return word or "_"


def _dot_string(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tree_features(trees: Sequence[Tree], features: str) -> np.ndarray:
    """Features of each tree, float32: its root (``"root"``), the mean of its
    2n - 1 node embeddings (``"mean"``), the mean of its n leaves (``"leaves"``,
    mean pooling), or several side by side (``"root+mean"``, ``"root+mean+leaves"``)."""
    parts = []
    for part in features.split("+"):
        if part == "root":
            parts.append(np.stack([t.root for t in trees]))
        elif part == "mean":
            parts.append(np.stack([t.embeddings.mean(axis=0) for t in trees]))
        else:
            parts.append(np.stack([t.embeddings[: t.n].mean(axis=0) for t in trees]))
    return np.asarray(np.concatenate(parts, axis=1), dtype=np.float32)
