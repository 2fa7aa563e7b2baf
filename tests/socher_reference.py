"""Plain-numpy reference of the greedy RAE with Socher et al.'s options.

Float64 throughout, straight from the definitions: the parent is
``act(concat(a, b) W1 + b1)``, divided by its length when normalised; the
reconstruction is ``dec(h W2 + b2)``, each half divided by its length when
normalised; a merge's error is plain ``|y - c|^2 / 2``
or weighted by the children's leaf counts. The greedy loop is the seed
algorithm's: every candidate is rescored at every step, the lowest score wins
(ties to the earliest pair), the new node takes the left child's place.
"""

from __future__ import annotations

import numpy as np

ACT = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}


def weights_of(network):
    """(W1, b1, W2, b2, activation, normalize, decoder_activation,
    normalize_reconstruction) of a merge_network."""
    enc = network.get_layer("encode")
    dec = network.get_layer("decode")
    names = {layer.name for layer in network.layers}
    w1, b1 = (np.asarray(w, np.float64) for w in enc.get_weights())
    w2, b2 = (np.asarray(w, np.float64) for w in dec.get_weights())
    return (
        w1, b1, w2, b2, enc.activation.__name__, "normalize" in names,
        dec.activation.__name__, "normalize_halves" in names,
    )  # fmt: skip


def unit(x):
    return x / max(np.sqrt(np.sum(x * x)), 1e-12)


def merge_pair(spec, a, b, n1, n2, weighted):
    """Parent embedding and reconstruction error of (a, b)."""
    w1, b1, w2, b2, act, normalize, dec, normalize_reconstruction = spec
    d = len(a)
    c = np.concatenate([a, b])
    h = ACT[act](c @ w1 + b1)
    if normalize:
        h = unit(h)
    y = ACT[dec](h @ w2 + b2)
    if normalize_reconstruction:  # each half of unit length
        y = np.concatenate([unit(y[:d]), unit(y[d:])])
    e1 = 0.5 * np.sum((y[:d] - a) ** 2)
    e2 = 0.5 * np.sum((y[d:] - b) ** 2)
    err = (n1 * e1 + n2 * e2) / (n1 + n2) if weighted else e1 + e2
    return h, err


def reference_tree(leaves, network, pairs="all", reconstruction="plain"):
    """merges, scores, embeddings (2n-1 rows) and the smallest relative gap
    between the winning candidate and the best candidate of another score over
    all steps (exact ties, such as those of duplicate leaves, are exact in
    float32 too and are left out)."""
    spec = weights_of(network)
    weighted = reconstruction == "weighted"
    x = np.asarray(leaves, np.float64)
    n = len(x)
    ids = list(range(n))
    emb = [row for row in x]
    score = [0.0] * n
    count = [1] * n
    merges, scores = [], []
    gap = np.inf
    while len(ids) > 1:
        cands = []
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                if pairs == "adjacent" and j != i + 1:
                    continue
                a, b = ids[i], ids[j]
                h, e = merge_pair(spec, emb[a], emb[b], count[a], count[b], weighted)
                cands.append((e + score[a] + score[b], i, j, h))
        order = sorted(range(len(cands)), key=lambda k: (cands[k][0], cands[k][1], cands[k][2]))
        best = cands[order[0]]
        others = [cands[k][0] for k in order[1:] if cands[k][0] != best[0]]
        if others:
            gap = min(gap, (others[0] - best[0]) / max(abs(best[0]), 1e-12))
        s, i, j, h = best
        a, b = ids[i], ids[j]
        node = len(emb)
        emb.append(h)
        score.append(s)
        count.append(count[a] + count[b])
        merges.append((a, b))
        scores.append(s)
        ids[i] = node
        del ids[j]
    return (
        np.array(merges, dtype=np.int64).reshape(-1, 2),
        np.array(scores),
        np.array(emb),
        gap,
    )
