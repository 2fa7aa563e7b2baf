"""
A long sequence's linkage beside scipy's
========================================

A tree is a scipy linkage matrix, so scipy's tools draw and cut it. Here 2,000
points from three clusters: the greedy RAE's tree (all pairs, the post's
network, untrained) beside scipy's centroid linkage of the same points.
"""

import time

import greedy_rae as gr
import matplotlib.pyplot as plt
import numpy as np
from scipy.cluster.hierarchy import dendrogram, fcluster, linkage

rng = np.random.default_rng(0)
centres = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 4]], dtype=np.float32)
points = np.concatenate([c + rng.normal(size=(n, 4)) for c, n in zip(centres, [900, 700, 400])])
points = points.astype("float32")

start = time.perf_counter()
tree = gr.greedy_tree(points, gr.merge_network(4))
ours = time.perf_counter() - start
start = time.perf_counter()
theirs = linkage(points, method="centroid")
scipys = time.perf_counter() - start
print(f"greedy RAE {ours:.2f} s, scipy centroid {scipys:.2f} s")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
dendrogram(tree.to_linkage(), ax=left, no_labels=True, truncate_mode="level", p=8)
left.set(title="greedy RAE (all pairs)", ylabel="node score")
dendrogram(theirs, ax=right, no_labels=True, truncate_mode="level", p=8)
right.set(title="scipy centroid linkage", ylabel="distance")
for name, z in [("RAE", tree.to_linkage()), ("scipy", theirs)]:
    print(name, np.bincount(fcluster(z, 3, criterion="maxclust"))[1:])
fig.tight_layout()
