"""
A time series cut into the segments of its adjacent tree
========================================================

With adjacent pairs, every node of a tree covers a contiguous run of the
series, so undoing the last merges cuts the series into pieces:
``tree.segments(k)`` gives the ``k`` ``(start, stop)`` leaf ranges. Here a
series of four levels, in windows of 10 samples, under the post's linear
network trained for 30 epochs: the last three merges join the four levels.
"""

import greedy_rae as gr
import keras
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
levels = np.repeat([0.0, 2.0, -1.0, 1.0], [60, 40, 50, 50])
series = levels + 0.2 * rng.normal(size=levels.size)
window = 10
leaves = series.reshape(-1, window).astype("float32")  # a leaf: 10 consecutive samples

keras.utils.set_random_seed(0)
rae = gr.RAE(window, pairs="adjacent", optimizer=keras.optimizers.Adam(0.01))  # the post's network
pieces = [leaves[i : i + 10] for i in range(0, len(leaves), 10)]  # training windows
rae.fit(pieces, epochs=30, batch_size=8, verbose=0, seed=0)
tree = rae.trees([leaves])[0]
segments = tree.segments(4)
print([(start * window, stop * window) for start, stop in segments])  # in samples

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(series, color="black", lw=1)
for k, (start, stop) in enumerate(segments):
    ax.axvspan(start * window, stop * window, alpha=0.25, color=f"C{k}")
ax.set(xlabel="time", title="Four segments from the last three merges undone")
