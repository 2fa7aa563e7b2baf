"""Greedy builds: trees for users, plans for training.

A build takes checked sequences (``_inputs.as_sequences``) and a merge
network. The user's ``scorer`` choice picks what scores the candidate pairs:
the native engine (the built-in network's weights copied into C++, see
:mod:`greedy_rae.build.native`) or the TF scorer (any Keras network, see
:mod:`greedy_rae.build.tf_scorer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np

from greedy_rae._inputs import as_leaves
from greedy_rae._memory import check_memory
from greedy_rae._options import check_pairs, check_reconstruction, check_scorer
from greedy_rae.build.native import native_plan, native_trees
from greedy_rae.build.plan import Plan, empty_plan, plan_of_trees
from greedy_rae.build.tf_scorer import tf_trees
from greedy_rae.network import NativeSpec, native_spec, network_dim
from greedy_rae.tree import Tree

if TYPE_CHECKING:
    from greedy_rae.table import EmbeddingTable

__all__ = [
    "Plan",
    "batch_trees",
    "build_plan",
    "build_trees",
    "empty_plan",
    "greedy_tree",
    "native_network",
]


def native_network(network: keras.Model, scorer: str) -> NativeSpec | None:
    """What the native engine computes for a ``scorer`` choice, or None for the TF scorer."""
    check_scorer(scorer)
    if scorer == "tf":
        return None
    spec = native_spec(network)
    if spec is None and scorer == "native":
        raise ValueError(
            "scorer='native' computes only networks of merge_network's structure (concat,"
            " Dense(dim) with a linear, tanh or relu activation, optionally"
            " UnitNormalization, Dense(2 * dim)); use scorer='tf' or 'auto'"
        )
    return spec


def _check_memory(sequences: list[np.ndarray], spec: NativeSpec | None, pairs: str) -> None:
    kind = "cache" if spec is None else spec.kind
    check_memory([len(x) for x in sequences], sequences[0].shape[1], kind, pairs)


def build_trees(
    sequences: list[np.ndarray],
    network: keras.Model,
    pairs: str = "all",
    scorer: str = "auto",
    *,
    progress: bool = False,
    threads: int = 0,
    reconstruction: str = "plain",
) -> list[Tree]:
    """Greedy trees of checked sequences, all in one pass."""
    pairs = check_pairs(pairs)
    reconstruction = check_reconstruction(reconstruction)
    spec = native_network(network, scorer)
    _check_memory(sequences, spec, pairs)
    if spec is not None:
        return native_trees(sequences, spec, pairs, reconstruction, progress, threads)
    return tf_trees(sequences, network, pairs, reconstruction)


def batch_trees(
    sequences: list[np.ndarray],
    network: keras.Model,
    pairs: str,
    scorer: str,
    reconstruction: str,
    table: EmbeddingTable | None = None,
    batch_size: int = 1024,
    progress: bool = False,
) -> list[Tree]:
    """Trees of checked sequences, ``batch_size`` at a time; a text RAE's
    sequences are ids, their leaves the ``table``'s rows, their trees' labels
    the words. ``progress``: a bar over the merges when the sequences fit in
    one batch, over the sequences otherwise."""
    one_batch = len(sequences) <= batch_size
    bar = None
    if progress and not one_batch:
        bar = keras.utils.Progbar(len(sequences), unit_name="sequence")
    out: list[Tree] = []
    for s in range(0, len(sequences), batch_size):
        part = sequences[s : s + batch_size]
        leaves = part if table is None else table.leaves(part)[0]
        show = progress and one_batch
        trees = build_trees(
            leaves, network, pairs, scorer, progress=show, reconstruction=reconstruction
        )
        if table is not None:
            for tree, ids in zip(trees, part):
                tree.labels = table.vocabulary.words_of(ids)
        out += trees
        if bar is not None:
            bar.update(len(out))
    return out


def build_plan(
    sequences: list[np.ndarray],
    network: keras.Model,
    pairs: str,
    scorer: str,
    reconstruction: str,
) -> Plan:
    """The replay plan of checked sequences' trees (what training needs of a build)."""
    if not sequences:
        return empty_plan(network_dim(network))
    spec = native_network(network, scorer)
    if spec is not None:
        _check_memory(sequences, spec, pairs)
        # the core builds the trees and hands back only their plan
        return native_plan(sequences, spec, pairs, reconstruction)
    trees = build_trees(sequences, network, pairs, scorer, reconstruction=reconstruction)
    return plan_of_trees(
        [t.merges for t in trees], [t.embeddings for t in trees], reconstruction == "weighted"
    )


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
    return build_trees(
        [x], network, pairs, scorer, progress=progress, reconstruction=reconstruction
    )[0]
