"""Runs in a child process of tests/test_distributed.py (TensorFlow's devices and
cluster must be set before it starts): trains the same RAE on one device and
under a strategy and writes both sets of weights to an .npz.

    python distributed_worker.py mirrored[-text] OUT.npz
    TF_CONFIG=... python distributed_worker.py multiworker[-text] OUT.npz [CHECKPOINT_DIR EPOCHS]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from text_data import TEXTS as SHARED  # noqa: E402

TEXTS = [*SHARED, "a film", "boring , boring , boring"]


def data():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), 4)).astype(np.float32) for n in rng.integers(1, 12, 23)]
    labels = rng.integers(-1, 3, 23)
    return seqs, labels


def make(strategy=None, text=False):
    import greedy_rae as gr
    import keras

    keras.utils.set_random_seed(0)
    kwargs = dict(activation="tanh", normalize=True, classes=3, alpha=0.3, pairs="adjacent")
    if text:  # a text RAE: a word table trained with the network
        kwargs["vocabulary"] = gr.Vocabulary.from_texts(TEXTS)
    if strategy is None:
        return gr.RAE(4, **kwargs)
    with strategy.scope():
        return gr.RAE(4, **kwargs)


def weights(rae):
    out = [np.asarray(w) for w in rae.network.get_weights() + rae.classifier.get_weights()]
    return out if rae.vocabulary is None else [*out, rae.embeddings]


def main():
    mode, out = sys.argv[1], sys.argv[2]
    text = mode.endswith("-text")
    mode = mode.removesuffix("-text")
    seqs, labels = data()
    if text:
        seqs, labels = TEXTS * 3, np.resize(labels, len(TEXTS) * 3)
    fit = dict(labels=labels, batch_size=6, verbose=0, seed=1, validation_data=(seqs, labels))
    results = {}
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        single = make(text=text)
        h1 = single.fit(seqs, epochs=3, **fit)
        multi = make(strategy, text=text)
        h2 = multi.fit(seqs, epochs=3, **fit)
        loss1, g1 = single.loss_and_gradients(seqs, labels)
        loss2, g2 = multi.loss_and_gradients(seqs, labels)
        results["replicas"] = np.array(strategy.num_replicas_in_sync)
        results["single_loss"] = np.array(h1["loss"] + [loss1])
        results["multi_loss"] = np.array(h2["loss"] + [loss2])
        for k, (a, b) in enumerate(zip(weights(single), weights(multi))):
            results[f"single_{k}"], results[f"multi_{k}"] = a, b
        for k, (a, b) in enumerate(zip(g1, g2)):
            a, b = (np.asarray(tf.convert_to_tensor(x)) for x in (a, b))  # sparse table rows
            results[f"single_grad_{k}"], results[f"multi_grad_{k}"] = a, b
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        multi = make(strategy, text=text)
        extra = {}
        if len(sys.argv) > 3:
            extra = dict(checkpoint_dir=sys.argv[3])
            epochs = int(sys.argv[4])
        else:
            epochs = 3
        h = multi.fit(seqs, epochs=epochs, **fit, **extra)
        results["replicas"] = np.array(strategy.num_replicas_in_sync)
        results["multi_loss"] = np.array(h["loss"])
        results["encode"] = multi.encode(seqs, features="root+mean")
        for k, w in enumerate(weights(multi)):
            results[f"multi_{k}"] = w
    np.savez(out, **results)


if __name__ == "__main__":
    main()
