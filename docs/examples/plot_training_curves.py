"""
Training curves through Keras callbacks
=======================================

``fit`` takes Keras's callbacks: here ``ReduceLROnPlateau`` lowers the learning
rate when the validation loss stalls, ``EarlyStopping`` stops and restores the
best weights, and ``CSVLogger`` writes every epoch to a file that we plot.
"""

import csv

import greedy_rae as gr
import keras
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(0)
sequences = [rng.normal(size=(int(n), 8)).astype("float32") for n in rng.integers(5, 25, 300)]
keras.utils.set_random_seed(0)
rae = gr.RAE(8, pairs="adjacent", optimizer=keras.optimizers.Adam(0.01))
callbacks = [
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
    keras.callbacks.CSVLogger("training.csv"),
]
rae.fit(sequences, epochs=40, batch_size=32, verbose=0, seed=0, validation_split=0.2,
        callbacks=callbacks)  # fmt: skip

with open("training.csv") as f:
    rows = list(csv.DictReader(f))
epochs = [int(r["epoch"]) + 1 for r in rows]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(epochs, [float(r["loss"]) for r in rows], label="loss")
ax.plot(epochs, [float(r["val_loss"]) for r in rows], label="val_loss")
ax2 = ax.twinx()
ax2.step(epochs, [float(r["learning_rate"]) for r in rows], color="grey", where="post",
         label="learning rate")  # fmt: skip
ax2.set_ylabel("learning rate")
ax.set(xlabel="epoch", ylabel="mean root score")
ax.legend(loc="upper right")
print(f"{len(rows)} epochs")
fig.tight_layout()
