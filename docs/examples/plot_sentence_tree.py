"""
A sentence's tree, its words and each node's class
===================================================

A text RAE with a label head, trained on a few labelled sentences, builds each
sentence's tree from its words (neighbours merge, so the order is kept). The
head gives every node a class: here each node is coloured by its predicted
probability of being positive.
"""

import greedy_rae as gr
import keras
import matplotlib.pyplot as plt
import numpy as np

texts = [
    "a gripping , moving film", "a dull , boring film", "moving and gripping",
    "boring and dull", "a moving story of hope", "a dull story of nothing",
    "gripping from start to end", "boring from start to end",
]  # fmt: skip
y = np.array([1, 0, 1, 0, 1, 0, 1, 0])
keras.utils.set_random_seed(0)
rae = gr.RAE(16, vocabulary=gr.Vocabulary.from_texts(texts), activation="tanh",
             normalize=True, classes=2, alpha=0.2,
             optimizer=keras.optimizers.Adam(0.02))  # fmt: skip
rae.fit(texts, labels=y, epochs=60, batch_size=4, verbose=0, seed=0)

sentence = "a gripping story of nothing"
tree = rae.trees([sentence])[0]
positive = rae.classifier(tree.embeddings).numpy()[:, 1]  # every node's P(positive)

# lay the tree out: leaves in order along x, a parent above its children
x = {i: float(i) for i in range(tree.n)}
height = {i: 0 for i in range(tree.n)}
for k, (a, b) in enumerate(tree.merges):
    node = tree.n + k
    x[node] = (x[a] + x[b]) / 2
    height[node] = max(height[a], height[b]) + 1
fig, ax = plt.subplots(figsize=(8, 4))
for k, (a, b) in enumerate(tree.merges):
    node = tree.n + k
    for child in (a, b):
        ax.plot([x[node], x[child]], [height[node], height[child]], color="grey", zorder=1)
nodes = ax.scatter([x[i] for i in x], [height[i] for i in x], c=positive[list(x)],
                   cmap="coolwarm_r", vmin=0, vmax=1, s=300, zorder=2)  # fmt: skip
for i, word in enumerate(tree.labels):
    ax.annotate(word, (x[i], -0.35), ha="center", va="top", fontsize=12)
fig.colorbar(nodes, ax=ax, label="P(positive) from the head")
ax.set(ylim=(-1, max(height.values()) + 0.5), title=f"'{sentence}'")
ax.axis("off")
print(tree)
