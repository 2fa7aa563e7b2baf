"""
The post's example and its tree
================================

The original post trains its merge network on 20 leaves: ``ones(10) * i`` for
``i`` in 0..9, twice. After training, equal leaves merge first and the tree
groups the leaves by value.
"""

import greedy_rae as gr
import keras
import matplotlib.pyplot as plt
from greedy_rae.cli import post_example

keras.utils.set_random_seed(0)
leaves = post_example()
rae = gr.RAE(10)
losses = [rae.fit([leaves], epochs=1, batch_size=1, verbose=0)["loss"][0] for _ in range(100)]
tree = rae.trees([leaves])[0]
print(tree)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(losses)
left.set(xlabel="Adam step", ylabel="root score", title="Training on the post's example")
tree.plot(ax=right, labels=[f"{v:.0f}" for v in leaves[:, 0]])
right.set(title="The final tree (leaves by value)", ylabel="node score")
fig.tight_layout()
