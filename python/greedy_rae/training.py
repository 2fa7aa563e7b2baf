"""The RAE: a merge network with its greedy builder, trainer and file format."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import checkpoint
from greedy_rae.builder import (
    as_sequences,
    build_trees,
    check_pairs,
    check_reconstruction,
    resolve_scorer,
)
from greedy_rae.network import merge_network, native_spec, network_dim
from greedy_rae.replay import Plan, Replay, empty_plan, native_plan, replay_plan
from greedy_rae.tree import Tree

_META = "greedy_rae.json"
_HEAD = "greedy_rae_classifier.keras"  # the label head, a .keras file inside the model file
FEATURES = ("root", "mean", "root+mean")


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    return float(alpha)


def _check_classes(classes: object) -> int | None:
    if classes is None:
        return None
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes must be an integer >= 2 (or None), got {classes!r}")
    return int(classes)


def _default_classifier(dim: int, classes: int) -> keras.Model:
    x = keras.Input(shape=(dim,), name="node")
    p = keras.layers.Dense(classes, activation="softmax", name="label")(x)
    return keras.Model(x, p, name="classifier")


class RAE:
    """Greedy recursive autoencoder, optionally with a label head (Socher et al. 2011).

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; builds :func:`merge_network` ``(dim, activation,
        normalize, decoder_activation)``.
    network : keras.Model, optional
        A merge network ``[a, b] -> [h, c, y]`` to use instead.
    pairs : {"all", "adjacent"}
        Candidate pairs at each greedy step (see :func:`greedy_tree`).
    optimizer : keras.optimizers.Optimizer, optional
        Defaults to ``keras.optimizers.Adam()`` with its defaults, as in the post.
    scorer : {"auto", "native", "tf"}
        How trees are built (see :func:`greedy_tree`).
    activation, normalize, decoder_activation
        Options of the built network (see :func:`merge_network`); with
        ``network`` given they must stay at their defaults.
    reconstruction : {"plain", "weighted"}
        The reconstruction error (see :func:`greedy_tree`); it chooses the
        trees and is the loss alike.
    classes : int, optional
        Number of classes of a softmax label head on node embeddings
        (``None``: unsupervised).
    alpha : float
        With a head, a labelled sequence's loss is ``alpha * root score + (1 -
        alpha) * sum over its 2n-1 nodes of the head's cross-entropy``, an
        unlabelled one's ``alpha * root score``. Trees are still chosen by
        reconstruction alone.
    classifier : keras.Model, optional
        A head of your own, from a ``(batch, dim)`` node embedding to
        ``(batch, classes)`` probabilities, instead of ``Dense(classes,
        softmax)``.
    strategy : tf.distribute.Strategy, optional
        Train data-parallel: each replica builds the trees of its share of a
        minibatch and replays them, and the gradients are summed before one
        optimizer step (the loss is divided by the global minibatch size, so a
        step equals one device's). Default: the strategy whose ``scope()`` the
        RAE is created in, if any. The network, the head and the optimizer
        state are created in the strategy's scope.
    """

    def __init__(
        self,
        dim: int | None = None,
        *,
        network: keras.Model | None = None,
        pairs: str = "all",
        optimizer: keras.optimizers.Optimizer | None = None,
        scorer: str = "auto",
        activation: str = "linear",
        normalize: bool = False,
        decoder_activation: str = "linear",
        reconstruction: str = "plain",
        classes: int | None = None,
        alpha: float = 0.2,
        classifier: keras.Model | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        if strategy is None and tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
        self.strategy = strategy
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        # under a strategy, the network, the head and the optimizer state are
        # created in its scope, so that they are mirrored across replicas
        with scope:
            if network is None:
                if dim is None:
                    raise ValueError("give either dim or network")
                network = merge_network(dim, activation, normalize, decoder_activation)
            else:
                if dim is not None and network_dim(network) != dim:
                    raise ValueError(
                        f"dim={dim} but the network takes width {network_dim(network)}"
                    )
                if (activation, normalize, decoder_activation) != ("linear", False, "linear"):
                    raise ValueError(
                        "activation, normalize and decoder_activation build a network: give them"
                        " to merge_network, or give dim instead of network"
                    )
            self.network = network
            self.dim = network_dim(network)
            self.pairs = check_pairs(pairs)
            self.reconstruction = check_reconstruction(reconstruction)
            resolve_scorer(network, scorer)  # checks the request early
            self.scorer = scorer
            self.classes = _check_classes(classes)
            self.alpha = _check_alpha(alpha)
            if classifier is not None and self.classes is None:
                raise ValueError("a classifier needs classes=K (the number of classes)")
            if self.classes is not None and classifier is None:
                classifier = _default_classifier(self.dim, self.classes)
            self.classifier: keras.Model | None = classifier
            self.optimizer = optimizer if optimizer is not None else keras.optimizers.Adam()
            self._replay = Replay(
                network,
                self.dim,
                self.optimizer,
                weighted=self.reconstruction == "weighted",
                classifier=classifier,
                alpha=self.alpha,
            )
            if strategy is not None and not self.optimizer.built:
                self.optimizer.build(self.trainable_weights)
        self._fitted = False

    @property
    def trainable_weights(self) -> list[Any]:
        """The network's trainable weights, then the head's."""
        return list(self._replay.weights)

    def __repr__(self) -> str:
        spec = native_spec(self.network)
        parts = [f"dim={self.dim}", f"pairs={self.pairs!r}"]
        if spec is None:
            parts.append("network=custom")
        else:
            if spec.activation != "linear":
                parts.append(f"activation={spec.activation!r}")
            if spec.normalize:
                parts.append("normalize=True")
            if spec.decoder_activation != "linear":
                parts.append(f"decoder_activation={spec.decoder_activation!r}")
        if self.reconstruction != "plain":
            parts.append(f"reconstruction={self.reconstruction!r}")
        if self.classes is not None:
            parts += [f"classes={self.classes}", f"alpha={self.alpha:g}"]
        parts.append("trained" if self._fitted else "untrained")
        return f"RAE({', '.join(parts)})"

    # -- trees -------------------------------------------------------------

    def trees(
        self, sequences: object, batch_size: int = 1024, *, progress: bool = False
    ) -> list[Tree]:
        """Greedy trees of a list of ``(n_i, dim)`` arrays, built ``batch_size`` at a time.

        ``progress=True`` shows a bar: over the merges when the sequences fit
        in one batch, over the sequences otherwise.
        """
        seqs = as_sequences(sequences, self.dim)
        _check_positive("batch_size", batch_size)
        return self._trees(seqs, batch_size, progress)

    def encode(
        self,
        sequences: object,
        batch_size: int = 1024,
        features: str = "root",
        *,
        progress: bool = False,
    ) -> np.ndarray:
        """Features of each sequence's tree, float32.

        Parameters
        ----------
        features : {"root", "mean", "root+mean"}
            The root embedding ``(N, dim)``; the mean of all ``2n - 1`` node
            embeddings ``(N, dim)``; or both side by side ``(N, 2 * dim)``, the
            features of Socher et al.'s classifier.
        progress : bool
            Show a progress bar (see :meth:`trees`).
        """
        if not isinstance(features, str) or features not in FEATURES:
            raise ValueError(f"features must be 'root', 'mean' or 'root+mean', got {features!r}")
        seqs = as_sequences(sequences, self.dim)
        _check_positive("batch_size", batch_size)
        if self._workers() > 1:
            return self._encode_split(seqs, batch_size, features)
        return self._features(self._trees(seqs, batch_size, progress), features)

    def _features(self, trees: list[Tree], features: str) -> np.ndarray:
        parts = []
        if features in ("root", "root+mean"):
            parts.append(np.stack([t.root for t in trees]))
        if features in ("mean", "root+mean"):
            parts.append(np.stack([t.embeddings.mean(axis=0) for t in trees]))
        return np.asarray(np.concatenate(parts, axis=1), dtype=np.float32)

    def _workers(self) -> int:
        """Worker processes of the strategy (1 without one, or on one machine)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None:
            return 1
        spec = resolver.cluster_spec().as_dict()
        return sum(len(v) for k, v in spec.items() if k in ("chief", "worker")) or 1

    def _encode_split(self, seqs: list[np.ndarray], batch_size: int, features: str) -> np.ndarray:
        """encode across the workers of a strategy: each replica encodes its
        contiguous share, and every worker gets the whole result back."""
        strategy = self.strategy
        assert strategy is not None
        parts = np.array_split(np.arange(len(seqs)), strategy.num_replicas_in_sync)
        size = max(len(p) for p in parts)
        width = self.dim * (2 if features == "root+mean" else 1)

        def local(ctx: Any) -> tf.Tensor:
            idx = parts[ctx.replica_id_in_sync_group]
            out = np.zeros((size, width), np.float32)  # padded: gathers need equal shapes
            if len(idx):
                trees = self._trees([seqs[i] for i in idx], batch_size)
                out[: len(idx)] = self._features(trees, features)
            return tf.constant(out)

        values = strategy.experimental_distribute_values_from_function(local)
        gathered = np.asarray(strategy.gather(values, axis=0))
        return np.concatenate([gathered[r * size : r * size + len(p)] for r, p in enumerate(parts)])

    # -- label head ----------------------------------------------------------

    def _head(self) -> keras.Model:
        if self.classifier is None:
            raise ValueError("this RAE has no label head: create it with classes=K")
        return self.classifier

    def predict_proba(self, sequences: object, batch_size: int = 1024) -> np.ndarray:
        """The head's class probabilities at each sequence's root, ``(N, classes)``."""
        head = self._head()
        roots = self.encode(sequences, batch_size)
        return np.asarray(head(tf.constant(roots), training=False), dtype=np.float32)

    def predict(self, sequences: object, batch_size: int = 1024) -> np.ndarray:
        """The most probable class of each sequence (at its root), int64 ``(N,)``."""
        proba = self.predict_proba(sequences, batch_size)
        return np.asarray(np.argmax(proba, axis=1), dtype=np.int64)

    def _labels(self, labels: object, count: int) -> np.ndarray | None:
        if labels is None:
            return None
        if self.classes is None:
            raise ValueError("labels need a label head: create the RAE with classes=K")
        y = np.asarray(labels)
        if y.ndim != 1 or len(y) != count:
            raise ValueError(
                f"labels must be one integer per sequence ({count}), got shape {y.shape}"
            )
        if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
            if not (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)):
                raise ValueError(f"labels must be integers, got dtype {y.dtype}")
        bad = (y < -1) | (y >= self.classes)
        if bad.any():
            raise ValueError(
                f"labels must be in -1..{self.classes - 1} (-1: unlabelled), got"
                f" {y[bad][0].item()!r} at sequence {int(np.argmax(bad))}"
            )
        return y.astype(np.int64)

    # -- training ----------------------------------------------------------

    def loss_and_gradients(
        self, sequences: object, labels: object = None
    ) -> tuple[float, list[tf.Tensor]]:
        """The minibatch loss of the sequences and its gradient, the trees held fixed.

        The loss is the mean over the sequences of their root scores (with a
        head: see ``alpha``), plus the layers' weight regularisers.

        Returns
        -------
        loss : float
        gradients : list of tf.Tensor
            Aligned with :attr:`trainable_weights` (the network's, then the head's).
        """
        seqs = as_sequences(sequences, self.dim)
        y = self._labels(labels, len(seqs))
        if self.strategy is not None:
            return self._replay.distributed(
                self.strategy, self._shares(seqs, y), len(seqs), False, self._workers() == 1
            )
        return self._replay.loss_and_gradients(self._plan(seqs), y)

    def train_step(self, sequences: object, labels: object = None) -> float:
        """One optimizer step on a minibatch; returns its loss before the step."""
        seqs = as_sequences(sequences, self.dim)
        return self._train_step(seqs, self._labels(labels, len(seqs)))

    def _plan(self, seqs: list[np.ndarray]) -> Plan:
        _, spec = resolve_scorer(self.network, self.scorer)
        if spec is not None:
            # the core builds the trees and hands back only their plan
            return native_plan(seqs, spec, self.pairs, self.reconstruction)
        return replay_plan(seqs, self._trees(seqs), self.reconstruction == "weighted")

    def _train_step(self, seqs: list[np.ndarray], labels: np.ndarray | None = None) -> float:
        if self.strategy is not None:
            loss = self._replay.distributed(
                self.strategy, self._shares(seqs, labels), len(seqs), True, self._workers() == 1
            )[0]
        else:
            loss = self._replay.train_step(self._plan(seqs), labels)
        self._fitted = True
        return loss

    def _shares(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> Any:
        """The (plan, labels) of each replica's share of a minibatch: contiguous
        parts, as even as can be, in replica order; built when asked for, so a
        worker builds only its own replicas' trees."""
        strategy = self.strategy
        assert strategy is not None
        parts = np.array_split(np.arange(len(seqs)), strategy.num_replicas_in_sync)

        def share(replica: int) -> tuple[Plan, np.ndarray | None]:
            idx = parts[replica]
            if len(idx) == 0:
                return empty_plan(self.dim), None
            part = [seqs[i] for i in idx]
            return self._plan(part), None if labels is None else labels[idx]

        return share

    def _is_chief(self) -> bool:
        """Whether this process writes checkpoints (the chief of a multi-worker run)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or not resolver.task_type:
            return True
        spec = resolver.cluster_spec().as_dict()
        if "chief" in spec:
            return bool(resolver.task_type == "chief")
        return bool(resolver.task_type == "worker" and resolver.task_id == 0)

    def evaluate(
        self, sequences: object, labels: object = None, batch_size: int = 1024
    ) -> float | dict[str, float]:
        """The mean loss of the sequences under the current weights.

        Without labels: a float, the mean root score (times ``alpha`` with a
        head). With labels: ``{"loss": ..., "accuracy": ...}``, the accuracy of
        :meth:`predict` over the labelled sequences (label >= 0).
        """
        seqs = as_sequences(sequences, self.dim)
        y = self._labels(labels, len(seqs))
        loss, roots = self._evaluate(seqs, y, batch_size)
        if y is None:
            return loss
        known = y >= 0
        pred = np.argmax(np.asarray(self._head()(tf.constant(roots[known]))), axis=1)
        accuracy = float(np.mean(pred == y[known])) if known.any() else float("nan")
        return {"loss": loss, "accuracy": accuracy}

    def _evaluate(
        self, seqs: list[np.ndarray], labels: np.ndarray | None, batch_size: int = 1024
    ) -> tuple[float, np.ndarray]:
        """Mean loss (without regularisers) and the roots."""
        trees = self._trees(seqs, batch_size)
        scores = np.array([t.score for t in trees])
        roots = np.stack([t.root for t in trees])
        if self.classifier is None:
            return float(np.mean(scores)), roots
        total = self.alpha * scores
        known = [] if labels is None else [k for k in range(len(trees)) if labels[k] >= 0]
        if known:
            assert labels is not None
            emb = np.concatenate([trees[k].embeddings for k in known])
            owner = np.repeat(known, [len(trees[k].embeddings) for k in known])
            probs = np.asarray(self.classifier(tf.constant(emb), training=False))
            p = probs[np.arange(len(emb)), labels[owner]]
            ce = -np.log(np.clip(p, 1e-7, 1.0))
            total += (1.0 - self.alpha) * np.bincount(owner, ce, minlength=len(trees))
        return float(np.mean(total)), roots

    def fit(
        self,
        sequences: object,
        epochs: int = 1,
        batch_size: int = 32,
        verbose: int = 1,
        *,
        labels: object = None,
        shuffle: bool = True,
        seed: int | None = None,
        validation_data: object = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
    ) -> dict[str, list[float]]:
        """Train the merge network by gradient descent on the root scores.

        Each minibatch's trees are built with the current weights, their loss
        (mean root score) is differentiated with the trees held fixed and the
        optimizer takes one step.

        Parameters
        ----------
        sequences : list of array-like
            ``(n_i, dim)`` arrays of any lengths.
        epochs, batch_size : int
        verbose : {0, 1, 2}
            0 silent, 1 a progress bar, 2 one line per epoch.
        labels : array-like of int, optional
            One label per sequence in ``0..classes-1``, or -1 for unlabelled
            (semi-supervised training); needs a head (``classes=K``).
        shuffle : bool
            Shuffle the sequences every epoch.
        seed : int, optional
            Seed of the shuffling.
        validation_data : list of array-like, or (sequences, labels), optional
            Sequences whose mean loss is reported as ``val_loss`` after every
            epoch (and ``val_accuracy`` when labels are given).
        callbacks : list of keras.callbacks.Callback, optional
            Keras callbacks (EarlyStopping, CSVLogger, your own); their model is
            the merge network.
        checkpoint_dir : path, optional
            After every epoch the network, the optimizer state, the epoch and
            the shuffling state are saved there (atomically). A later ``fit``
            with the same arguments and folder resumes after the last saved
            epoch and ends with the same weights as an uninterrupted run.

        Returns
        -------
        dict
            ``"loss"``: per epoch, the mean minibatch loss of the epoch, each
            measured before its minibatch's update; ``"val_loss"`` (and
            ``"val_accuracy"``) with validation data.
        """
        seqs = as_sequences(sequences, self.dim)
        y = self._labels(labels, len(seqs))
        val, val_y = None, None
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) == 2:
                val = as_sequences(validation_data[0], self.dim)
                val_y = self._labels(validation_data[1], len(val))
            else:
                val = as_sequences(validation_data, self.dim)
        _check_positive("epochs", epochs)
        _check_positive("batch_size", batch_size)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        rng = np.random.default_rng(seed)
        batches = (len(seqs) + batch_size - 1) // batch_size
        history: dict[str, list[float]] = {"loss": []}
        if val is not None:
            history["val_loss"] = []
            if val_y is not None:
                history["val_accuracy"] = []
        run = {
            "sequences": len(seqs),
            "leaves": int(sum(len(x) for x in seqs)),
            "batch_size": int(batch_size),
            "shuffle": bool(shuffle),
            "seed": seed,
            "pairs": self.pairs,
            "labels": None if y is None else hashlib.sha1(y.tobytes()).hexdigest(),
        }
        first_epoch = 0
        if checkpoint_dir is not None:
            first_epoch = self._resume(checkpoint_dir, run, rng, history)
        cbs = keras.callbacks.CallbackList(
            callbacks,
            add_history=False,
            add_progbar=verbose != 0,
            model=self.network,
            verbose=verbose,
            epochs=epochs,
            steps=batches,
        )
        self.network.stop_training = False
        cbs.on_train_begin()
        for epoch in range(first_epoch, epochs):
            order = rng.permutation(len(seqs)) if shuffle else np.arange(len(seqs))
            cbs.on_epoch_begin(epoch)
            total = 0.0
            for b in range(batches):
                cbs.on_train_batch_begin(b)
                chosen = order[b * batch_size : (b + 1) * batch_size]
                batch = [seqs[i] for i in chosen]
                loss = self._train_step(batch, None if y is None else y[chosen])
                total += loss * len(batch)
                cbs.on_train_batch_end(b, {"loss": total / min(len(seqs), (b + 1) * batch_size)})
            logs: dict[str, float] = {"loss": total / len(seqs)}
            if val is not None:
                if val_y is None:
                    logs["val_loss"] = self._evaluate(val, None)[0]
                else:
                    scores = self.evaluate(val, val_y)
                    assert isinstance(scores, dict)
                    logs["val_loss"], logs["val_accuracy"] = scores["loss"], scores["accuracy"]
            for key, logged in logs.items():
                history[key].append(logged)
            if checkpoint_dir is not None and self._is_chief():
                self._checkpoint(checkpoint_dir, run, epoch + 1, rng, history)
            cbs.on_epoch_end(epoch, logs)
            if self.network.stop_training:
                break
        cbs.on_train_end({k: v[-1] for k, v in history.items() if v})
        return history

    def _optimizer_variables(self) -> list[Any]:
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_weights)
        return list(self.optimizer.variables)

    def _models(self) -> list[keras.Model]:
        return [self.network] + ([] if self.classifier is None else [self.classifier])

    def _get_weights(self) -> list[np.ndarray]:
        return [w for m in self._models() for w in m.get_weights()]

    def _set_weights(self, weights: list[np.ndarray]) -> None:
        for m in self._models():
            k = len(m.get_weights())
            m.set_weights(weights[:k])
            weights = weights[k:]

    def _checkpoint(
        self,
        folder: str | os.PathLike[str],
        run: dict[str, Any],
        epoch: int,
        rng: np.random.Generator,
        history: dict[str, list[float]],
    ) -> None:
        weights = self._get_weights()
        opt = [np.asarray(v.numpy()) for v in self._optimizer_variables()]
        state = dict(
            run,
            epoch=epoch,
            rng=rng.bit_generator.state,
            history=history,
            n_weights=len(weights),
            n_optimizer=len(opt),
        )
        checkpoint.save(folder, weights, opt, state)

    def _resume(
        self,
        folder: str | os.PathLike[str],
        run: dict[str, Any],
        rng: np.random.Generator,
        history: dict[str, list[float]],
    ) -> int:
        saved = checkpoint.load(folder)
        if saved is None:
            return 0
        weights, opt, state = saved
        for key, value in run.items():
            if state.get(key) != value:
                raise ValueError(
                    f"the checkpoint in {os.fspath(folder)!r} was written by a fit with"
                    f" {key}={state.get(key)!r}, this fit has {key}={value!r}; use the same"
                    " arguments to resume, or another checkpoint_dir"
                )
        shapes = [tuple(w.shape) for w in self._get_weights()]
        if [tuple(w.shape) for w in weights] != shapes:
            raise ValueError(f"the checkpoint in {os.fspath(folder)!r} holds a different network")
        variables = self._optimizer_variables()
        if len(variables) != len(opt) or any(
            tuple(v.shape) != tuple(a.shape) for v, a in zip(variables, opt)
        ):
            raise ValueError(
                f"the checkpoint in {os.fspath(folder)!r} holds another optimizer's state"
            )
        self._set_weights(weights)
        for v, a in zip(variables, opt):
            v.assign(a)
        rng.bit_generator.state = state["rng"]
        for key in history:
            history[key].extend(state["history"].get(key, []))
        return int(state["epoch"])

    def _trees(
        self, seqs: list[np.ndarray], batch_size: int = 1024, progress: bool = False
    ) -> list[Tree]:
        one_batch = len(seqs) <= batch_size
        bar = None
        if progress and not one_batch:
            bar = keras.utils.Progbar(len(seqs), unit_name="sequence")
        out: list[Tree] = []
        for s in range(0, len(seqs), batch_size):
            out.extend(
                build_trees(
                    seqs[s : s + batch_size],
                    self.network,
                    self.pairs,
                    self.scorer,
                    progress=progress and one_batch,
                    reconstruction=self.reconstruction,
                )
            )
            if bar is not None:
                bar.update(len(out))
        return out

    # -- files -------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the merge network, the head and the options to ``.keras`` or ``.h5``.

        The network is the file's Keras model, so ``keras.saving.load_model``
        reads it too; the pair mode, the reconstruction, ``alpha`` and the
        label head (a ``.keras`` file of its own) ride along. The file is
        written to a temporary name beside ``path`` and renamed over it, so an
        interrupted save never leaves a half-written file.
        """
        path = os.fspath(path)
        suffix = os.path.splitext(path)[1]
        if suffix not in (".keras", ".h5"):
            raise ValueError(f"path must end in .keras or .h5, got {path!r}")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(f"folder {folder!r} does not exist")
        fd, tmp = tempfile.mkstemp(suffix=suffix, prefix=".tmp-", dir=folder)
        os.close(fd)
        try:
            self.network.save(tmp, overwrite=True)
            meta = json.dumps(
                {
                    "format": 2,
                    "pairs": self.pairs,
                    "reconstruction": self.reconstruction,
                    "classes": self.classes,
                    "alpha": self.alpha,
                }
            )
            head = None if self.classifier is None else _model_bytes(self.classifier, folder)
            if suffix == ".keras":
                with zipfile.ZipFile(tmp, "a") as z:
                    z.writestr(_META, meta)
                    if head is not None:
                        z.writestr(_HEAD, head)
            else:
                import h5py

                with h5py.File(tmp, "a") as f:
                    f.attrs[_META] = meta
                    if head is not None:
                        f.create_dataset(_HEAD, data=np.frombuffer(head, dtype=np.uint8))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        optimizer: keras.optimizers.Optimizer | None = None,
        scorer: str = "auto",
    ) -> RAE:
        """Load an RAE saved by :meth:`save` (or any saved merge network).

        The options and the head come from the file; a plain Keras file gives
        ``pairs="all"``, ``reconstruction="plain"`` and no head.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no model file at {path!r}")
        suffix = os.path.splitext(path)[1]
        if suffix not in (".keras", ".h5"):
            raise ValueError(f"a model file ends in .keras or .h5, got {path!r}")
        try:
            network, meta, head = _read_model_file(path, suffix)
            classifier = None if head is None else _model_from_bytes(head)
            network_dim(network)
        except Exception as e:  # zip, HDF5, JSON or Keras errors: one clear message
            reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ValueError(
                f"cannot load {path!r}: not a readable {suffix} merge network"
                f" ({type(e).__name__}{': ' + reason if reason else ''})"
            ) from None
        rae = cls(
            network=network,
            pairs=meta.get("pairs", "all"),
            optimizer=optimizer,
            scorer=scorer,
            reconstruction=meta.get("reconstruction", "plain"),
            classes=meta.get("classes"),
            alpha=meta.get("alpha", 0.2),
            classifier=classifier,
        )
        rae._fitted = True
        return rae


def _read_model_file(path: str, suffix: str) -> tuple[keras.Model, dict[str, Any], bytes | None]:
    """The network, the options and the head's bytes of a saved model file."""
    network = keras.saving.load_model(path, compile=False)
    meta: dict[str, Any] = {}
    head: bytes | None = None
    if suffix == ".keras":
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if _META in names:
                meta = json.loads(z.read(_META))
            if _HEAD in names:
                head = z.read(_HEAD)
    else:
        import h5py

        with h5py.File(path, "r") as f:
            if _META in f.attrs:
                meta = json.loads(f.attrs[_META])
            if _HEAD in f:
                head = np.asarray(f[_HEAD]).tobytes()
    if not isinstance(meta, dict):
        raise ValueError(f"its {_META} is not a JSON object")
    return network, meta, head


def _model_bytes(model: keras.Model, folder: str) -> bytes:
    """A Keras model as the bytes of a ``.keras`` file (written in ``folder``, then removed)."""
    fd, tmp = tempfile.mkstemp(suffix=".keras", prefix=".tmp-head-", dir=folder)
    os.close(fd)
    try:
        model.save(tmp, overwrite=True)
        with open(tmp, "rb") as f:
            return f.read()
    finally:
        os.remove(tmp)


def _model_from_bytes(data: bytes) -> keras.Model:
    fd, tmp = tempfile.mkstemp(suffix=".keras", prefix="greedy-rae-head-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return keras.saving.load_model(tmp, compile=False)
    finally:
        os.remove(tmp)
