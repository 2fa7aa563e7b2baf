"""The RAE: a facade over the network, the builds, the replay, the trainer and the file."""

from __future__ import annotations

import contextlib
import os
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _inputs, _options, lbfgs, losses, saving, trainer
from greedy_rae.build import batch_trees, build_plan, native_network
from greedy_rae.build.plan import Plan
from greedy_rae.head import accuracy, default_classifier, probabilities
from greedy_rae.keras_model import RAEModel
from greedy_rae.network import merge_network, native_spec, network_dim
from greedy_rae.replay import make_runner
from greedy_rae.replay.graph_pass import GradientPass
from greedy_rae.table import make_table
from greedy_rae.text import Vocabulary, as_token_ids
from greedy_rae.tree import Tree, tree_features


class RAE:
    """Greedy recursive autoencoder, optionally with a label head (Socher et al. 2011).

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; builds :func:`merge_network` ``(dim, activation,
        normalize, decoder_activation)``.
    network : keras.Model, optional
        A merge network ``[a, b] -> [h, c, y]`` to use instead.
    pairs : {"all", "adjacent"}, optional
        Candidate pairs at each greedy step (see :func:`greedy_tree`).
        Default: ``"all"`` (the post's), or ``"adjacent"`` for a text RAE
        (with ``vocabulary``), which keeps word order as every RAE for
        sentences does.
    optimizer : keras.optimizers.Optimizer or "lbfgs", optional
        Defaults to ``keras.optimizers.Adam()`` with its defaults (learning
        rate 0.001), as in the post. ``"lbfgs"``: ``fit`` runs full-batch
        L-BFGS (scipy's ``L-BFGS-B``), the optimizer of Socher et al.'s
        released code: each of ``fit``'s ``epochs`` is one iteration over the
        loss and gradient of the whole training set, computed ``batch_size``
        sequences at a time (see :mod:`greedy_rae.lbfgs`).
    scorer : {"auto", "native", "tf"}
        How trees are built (see :func:`greedy_tree`).
    replay : {"auto", "numpy", "graph"}
        How training computes the gradients of the built trees. ``"numpy"``:
        the gradient pass and Keras's Adam written out in numpy, for the
        networks the native engine computes with the default head and L1/L2
        (or no) weight penalties; nothing is compiled, so the first step
        costs what the later ones do. ``"graph"``: the pass as a TensorFlow
        graph, compiled once per configuration and depth bucket in a process
        (about half a second on a CPU; a new RAE of a configuration already
        fitted compiles nothing), for any network, head and optimizer, on any
        device.
        ``"auto"``: ``"numpy"`` where it applies, on one device with no GPU
        visible; else ``"graph"``. Both give the same gradients (up to float32
        rounding).
    activation, normalize, decoder_activation, normalize_reconstruction
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
        alpha) * sum over its 2n-1 nodes of the head's error``, an unlabelled
        one's ``alpha * root score``. Trees are still chosen by reconstruction
        alone.
    head_loss : {"cross_entropy", "squared"}
        The head's error at a node: its cross-entropy, or the squared error of
        its probabilities, ``|onehot(label) - p|^2 / 2`` (Socher et al.'s
        ``forwardPropRAE.m`` puts a squared error on a sigmoid unit: for two
        classes, half this).
    inner_weight : float
        The weight of the head's error at an inner node (a merge) against a
        word's (a leaf's, 1): Socher et al.'s ``params.beta``, 0.5 in
        ``trainTestRAE.m``.
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
    vocabulary : Vocabulary or list of str, optional
        Makes a text RAE: sequences are texts (strings, lists of tokens or 1-D
        arrays of ids), their leaves the rows of a word-embedding table of
        ``len(vocabulary)`` rows (see :mod:`greedy_rae.text`; row 0 is the
        out-of-vocabulary ``<unk>``). A list of words makes a
        :class:`Vocabulary` (its default tokeniser, case kept).
    embeddings : array, mapping or word vectors, optional
        The table's start (see :func:`greedy_rae.text.initial_table`): a
        ``(len(vocabulary), dim)`` array, or word vectors (a mapping, a
        ``(words, vectors)`` pair from :func:`load_word_vectors`, or gensim
        ``KeyedVectors``), words without one starting small and random, as in
        Socher et al.'s code. Default: all small and random.
    trainable_embeddings : bool
        Train the table with the network (sparse updates: see
        :mod:`greedy_rae.table`); ``False`` keeps it as given.
    embeddings_regularizer : keras regularizer, optional
        Weight decay on the table, e.g. ``keras.regularizers.L2(1e-4)``, on the
        rows each minibatch uses (see :mod:`greedy_rae.table`).
    l2 : (float, float, float), optional
        Socher et al.'s L2 weights for the network's kernels, the word table
        and the head's kernel, ``(lambda_W, lambda_L, lambda_cat)``: each part
        adds ``lambda / 2 * |w|^2`` to the loss (``trainTestRAE.m``'s
        ``params.lambda``: ``(1e-5, 1e-4, 1e-7)``). Builds the regularizers of
        the built network, the default head and the table.
    embeddings_anchor : bool
        Regularise the word table toward its starting values instead of toward
        zero: the penalty is on ``E - E0`` (Socher et al.'s code trains an
        offset to fixed random vectors, ``RAECost.m``). The start is kept while
        the RAE lives; a loaded RAE anchors to the table it loads.
    """

    def __init__(
        self,
        dim: int | None = None,
        *,
        network: keras.Model | None = None,
        pairs: str | None = None,
        optimizer: keras.optimizers.Optimizer | str | None = None,
        scorer: str = "auto",
        replay: str = "auto",
        activation: str = _options.MODEL.activation,
        normalize: bool = _options.MODEL.normalize,
        decoder_activation: str = _options.MODEL.decoder_activation,
        normalize_reconstruction: bool = _options.OBJECTIVE.normalize_reconstruction,
        reconstruction: str = _options.MODEL.reconstruction,
        classes: int | None = None,
        alpha: float = _options.MODEL.alpha,
        head_loss: str = _options.OBJECTIVE.head_loss,
        inner_weight: float = _options.OBJECTIVE.inner_weight,
        classifier: keras.Model | None = None,
        strategy: tf.distribute.Strategy | None = None,
        vocabulary: Vocabulary | list[str] | None = None,
        embeddings: object = None,
        trainable_embeddings: bool = True,
        embeddings_regularizer: Any = None,
        l2: tuple[float, float, float] | None = None,
        embeddings_anchor: bool = False,
    ) -> None:
        regularizers = _l2_regularizers(l2)
        if regularizers.network is not None and network is not None:
            raise ValueError("l2 builds the network's regularizer: give dim, not network")
        if regularizers.head is not None and classifier is not None:
            raise ValueError("l2 builds the default head's regularizer: leave classifier out")
        if regularizers.table is not None:
            if embeddings_regularizer is not None:
                raise ValueError("give l2 or embeddings_regularizer, not both")
            if vocabulary is not None:
                embeddings_regularizer = regularizers.table
        if strategy is None and tf.distribute.has_strategy():
            strategy = tf.distribute.get_strategy()
        self.strategy = strategy
        # under a strategy, the network, the head and the optimizer state are
        # created in its scope, so that they are mirrored across replicas
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            if network is None:
                if dim is None:
                    raise ValueError("give either dim or network")
                network = merge_network(
                    dim,
                    activation,
                    normalize,
                    decoder_activation,
                    normalize_reconstruction=normalize_reconstruction,
                    kernel_regularizer=regularizers.network,
                )
            else:
                if dim is not None and network_dim(network) != dim:
                    raise ValueError(
                        f"dim={dim} but the network takes width {network_dim(network)}"
                    )
                model = (_options.MODEL.activation, _options.MODEL.normalize)
                if (activation, normalize, decoder_activation, normalize_reconstruction) != (
                    *model,
                    _options.MODEL.decoder_activation,
                    False,
                ):
                    raise ValueError(
                        "activation, normalize, decoder_activation and normalize_reconstruction"
                        " build a network: give them to merge_network, or give dim instead of"
                        " network"
                    )
            self.network = network
            self.dim = network_dim(network)
            if pairs is None:
                pairs = _options.MODEL.pairs if vocabulary is None else _options.TEXT_PAIRS
            self.pairs = _options.check_pairs(pairs)
            self.reconstruction = _options.check_reconstruction(reconstruction)
            native_network(network, scorer)  # checks the request early
            self.scorer = scorer
            self.classes = _options.check_classes(classes)
            self.alpha = _options.check_alpha(alpha)
            self.head_loss = _options.check_choice("head_loss", head_loss, _options.HEAD_LOSSES)
            self.inner_weight = _options.check_inner_weight(inner_weight)
            if classifier is not None and self.classes is None:
                raise ValueError("a classifier needs classes=K (the number of classes)")
            if self.classes is not None and classifier is None:
                classifier = default_classifier(self.dim, self.classes, regularizers.head)
            self.classifier: keras.Model | None = classifier
            self.full_batch = isinstance(optimizer, str)
            if self.full_batch and optimizer != lbfgs.NAME:
                raise ValueError(
                    f"optimizer must be a Keras optimizer or {lbfgs.NAME!r}, got {optimizer!r}"
                )
            if self.full_batch and strategy is not None:
                raise ValueError(
                    "optimizer='lbfgs' runs on one device: full-batch L-BFGS under a"
                    " tf.distribute strategy is not supported; give a Keras optimizer"
                )
            # with L-BFGS, a Keras Adam holds the slots the runner expects; it never steps
            self.optimizer = (
                optimizer
                if isinstance(optimizer, keras.optimizers.Optimizer)
                else keras.optimizers.Adam()
            )
            self._table = make_table(
                vocabulary,
                embeddings,
                trainable_embeddings,
                embeddings_regularizer,
                self.dim,
                anchored=embeddings_anchor,
            )
            gradient_pass = GradientPass(
                network,
                self.dim,
                weighted=self.reconstruction == "weighted",
                classifier=classifier,
                alpha=self.alpha,
                leaf_gradients=self._table is not None and self._table.trainable,
                head_loss=self.head_loss,
                inner_weight=self.inner_weight,
            )
            self.replay = _options.check_replay(replay)
            self._runner = make_runner(
                gradient_pass, self.optimizer, self._plan, strategy, self._table, self.replay
            )
            if strategy is not None:  # its state mirrored, made in the scope
                self._runner._build_optimizer()
        self._fitted = False
        self._keras: RAEModel | None = None

    @classmethod
    def from_preset(cls, name: str, **options: Any) -> RAE:
        """An RAE with a named set of options; ``options`` add to them or override them.

        ``"socher2011"``: Socher et al.'s released settings (EMNLP 2011,
        ``codeDataMoviesEMNLP``): width 50, adjacent pairs, tanh parents of
        unit length, tanh reconstructions, each half of unit length, with the
        unweighted error, ``alpha`` 0.2, the head's squared error with inner
        nodes weighted 0.5 against words, full-batch L-BFGS (train with
        ``fit(epochs=70)``), L2 weights ``(1e-5, 1e-4, 1e-7)`` and, for text,
        the word table regularised toward its start.

        >>> import greedy_rae as gr
        >>> rae = gr.RAE.from_preset("socher2011", classes=2, vocabulary=["a", "b"])
        >>> rae.pairs, rae.dim, rae.full_batch
        ('adjacent', 50, True)
        """
        preset = _options.check_preset(name)
        if options.get("vocabulary") is None:
            preset.pop("embeddings_anchor", None)
        if "network" in options:
            for key in (
                "dim",
                "activation",
                "normalize",
                "decoder_activation",
                "normalize_reconstruction",
            ):
                preset.pop(key, None)
            preset["l2"] = (0.0, *preset["l2"][1:])  # type: ignore[index]
        return cls(**{**preset, **options})

    @property
    def trainable_weights(self) -> list[Any]:
        """The network's trainable weights, then the head's, then a trainable word table."""
        table = [self._table.variable] if self._runner.train_table and self._table else []
        return [*self._runner.weights, *table]

    @property
    def vocabulary(self) -> Vocabulary | None:
        """A text RAE's vocabulary (None for vectors)."""
        return None if self._table is None else self._table.vocabulary

    @property
    def embeddings(self) -> np.ndarray | None:
        """A copy of a text RAE's word-embedding table, ``(len(vocabulary), dim)``."""
        return None if self._table is None else self._table.values()

    @property
    def trainable_embeddings(self) -> bool:
        """Whether training moves a text RAE's word table (False without one)."""
        return self._table is not None and self._table.trainable

    @property
    def keras_model(self) -> keras.Model:
        """The whole RAE as a Keras model, the one ``fit``'s callbacks see: its
        weights are the network's, the head's and a text RAE's word table, its
        ``optimizer`` the RAE's, and its ``save`` writes the RAE's model file.
        ``rae.keras_model.load_weights(path)`` reads a ``ModelCheckpoint``'s
        ``.weights.h5`` file."""
        return self._keras_model()

    def get_config(self) -> dict[str, Any]:
        """The options a model file keeps beside the networks (JSON-serialisable):
        the pair mode, the reconstruction, the head's size, ``alpha``,
        ``head_loss`` and ``inner_weight``, and a text RAE's vocabulary."""
        config: dict[str, Any] = {
            "pairs": self.pairs,
            "reconstruction": self.reconstruction,
            "classes": self.classes,
            "alpha": self.alpha,
            "head_loss": self.head_loss,
            "inner_weight": self.inner_weight,
        }
        if self._table is not None:
            config["vocabulary"] = self._table.vocabulary.to_dict()
            config["trainable_embeddings"] = self._table.trainable
        return config

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
            if spec.normalize_reconstruction:
                parts.append("normalize_reconstruction=True")
        if self.reconstruction != "plain":
            parts.append(f"reconstruction={self.reconstruction!r}")
        if self.classes is not None:
            parts += [f"classes={self.classes}", f"alpha={self.alpha:g}"]
            if self.head_loss != "cross_entropy":
                parts.append(f"head_loss={self.head_loss!r}")
            if self.inner_weight != 1.0:
                parts.append(f"inner_weight={self.inner_weight:g}")
        if self._table is not None:
            parts.append(f"vocabulary={len(self._table.vocabulary)}")
            if not self._table.trainable:
                parts.append("trainable_embeddings=False")
        parts.append("trained" if self._fitted else "untrained")
        return f"RAE({', '.join(parts)})"

    # -- trees and features --------------------------------------------------

    def trees(
        self, sequences: object, batch_size: int = 1024, *, progress: bool = False
    ) -> list[Tree]:
        """Greedy trees of a list of ``(n_i, dim)`` arrays, built ``batch_size`` at a time.

        ``progress=True`` shows a bar: over the merges when the sequences fit
        in one batch, over the sequences otherwise.
        """
        seqs = self._sequences(sequences)
        _options.check_positive("batch_size", batch_size)
        return self._trees(seqs, batch_size, progress)

    def encode(
        self,
        sequences: object,
        batch_size: int = 1024,
        features: str = _options.MODEL.features,
        *,
        progress: bool = False,
    ) -> np.ndarray:
        """Features of each sequence's tree, float32.

        Parameters
        ----------
        features : {"root", "mean", "leaves", "root+mean", "root+mean+leaves"}
            The root embedding ``(N, dim)``; the mean of all ``2n - 1`` node
            embeddings ``(N, dim)``; the mean of the ``n`` leaves ``(N, dim)``
            (mean pooling; with a word table, of the words' vectors); or several
            side by side: ``"root+mean"`` ``(N, 2 * dim)`` is the features of
            Socher et al.'s classifier.
        progress : bool
            Show a progress bar (see :meth:`trees`).
        """
        _options.check_features(features)
        seqs = self._sequences(sequences)
        _options.check_positive("batch_size", batch_size)
        width = self.dim * len(features.split("+"))
        return self._runner.map_sequences(
            seqs,
            lambda part: tree_features(self._trees(part, batch_size, progress), features),
            width,
        )

    def predict_proba(self, sequences: object, batch_size: int = 1024) -> np.ndarray:
        """The head's class probabilities at each sequence's root, ``(N, classes)``."""
        return probabilities(self._head(), self.encode(sequences, batch_size))

    def predict(self, sequences: object, batch_size: int = 1024) -> np.ndarray:
        """The most probable class of each sequence (at its root), int64 ``(N,)``."""
        proba = self.predict_proba(sequences, batch_size)
        return np.asarray(np.argmax(proba, axis=1), dtype=np.int64)

    # -- training --------------------------------------------------------------

    def loss_and_gradients(
        self, sequences: object, labels: object = None
    ) -> tuple[float, list[tf.Tensor]]:
        """The minibatch loss of the sequences and its gradient, the trees held fixed.

        The loss is the mean over the sequences of their root scores (with a
        head: see ``alpha``), plus the layers' weight regularisers. The
        gradients align with :attr:`trainable_weights`.
        """
        seqs, y = self._labelled(sequences, labels)
        return self._runner.loss_and_gradients(seqs, y)

    def train_step(self, sequences: object, labels: object = None) -> float:
        """One optimizer step on a minibatch; returns its loss before the step."""
        if self.full_batch:
            raise ValueError(
                "optimizer='lbfgs' takes no minibatch steps: fit(sequences, epochs=N) runs N"
                " iterations of full-batch L-BFGS"
            )
        seqs, y = self._labelled(sequences, labels)
        loss = self._runner.train_step(seqs, y)
        self._fitted = True
        return loss

    def fit(
        self,
        sequences: object,
        epochs: int = _options.MODEL_EPOCHS,
        batch_size: int = _options.MODEL.batch_size,
        verbose: int = 1,
        *,
        labels: object = None,
        shuffle: bool = True,
        seed: int | None = None,
        validation_data: object = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        validation_split: float = 0.0,
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
        validation_split : float
            Instead of ``validation_data``: hold out this fraction of the
            sequences (the last ones, before any shuffling, as Keras does) and
            their labels as validation data. With
            ``keras.callbacks.EarlyStopping(monitor="val_loss",
            restore_best_weights=True)`` it stops early.
        callbacks : list of keras.callbacks.Callback, optional
            Any of Keras's callbacks (EarlyStopping, ReduceLROnPlateau,
            ModelCheckpoint, CSVLogger, ...) or your own. Their model is the
            whole RAE as a Keras model: the network's and the head's weights,
            the RAE's optimizer, and ``save`` writes the RAE's model file (so a
            ``ModelCheckpoint`` file loads back with :meth:`load`).
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
        data = self._labelled(sequences, labels)
        validation = _inputs.as_validation(validation_data, self._sequences, self.classes)
        if validation_split:
            if validation is not None:
                raise ValueError("give validation_data or validation_split, not both")
            data, validation = _inputs.split_off(data, validation_split)
        if self.full_batch:
            return self._fit_lbfgs(
                data, epochs, batch_size, verbose, validation, callbacks, checkpoint_dir
            )
        return trainer.fit(
            self._trainee(),
            data,
            epochs=_options.check_positive("epochs", epochs),
            batch_size=_options.check_positive("batch_size", batch_size),
            verbose=_options.check_verbose(verbose),
            shuffle=shuffle,
            seed=seed,
            validation=validation,
            callbacks=callbacks,
            checkpoint_dir=checkpoint_dir,
        )

    def evaluate(
        self, sequences: object, labels: object = None, batch_size: int = 1024
    ) -> float | dict[str, float]:
        """The mean loss of the sequences under the current weights (without regularisers).

        Without labels: a float, the mean root score (times ``alpha`` with a
        head). With labels: ``{"loss": ..., "accuracy": ...}``, the accuracy of
        :meth:`predict` over the labelled sequences (label >= 0).
        """
        seqs, y = self._labelled(sequences, labels)
        loss, acc = self._evaluate(seqs, y, batch_size)
        return loss if y is None else {"loss": loss, "accuracy": acc}

    # -- files -----------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the network, the head and the options to ``.keras`` or ``.h5`` (atomically)."""
        saving.save(self, path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        optimizer: keras.optimizers.Optimizer | None = None,
        scorer: str = "auto",
        replay: str = "auto",
    ) -> RAE:
        """Load an RAE saved by :meth:`save` (or any saved merge network).

        The options and the head come from the file; a plain Keras file gives
        ``pairs="all"``, ``reconstruction="plain"`` and no head. ``optimizer``,
        ``scorer`` and ``replay`` are as in :class:`RAE`.
        """
        rae = saving.load(cls, path, optimizer=optimizer, scorer=scorer, replay=replay)
        rae._fitted = True
        return rae

    # -- internals -------------------------------------------------------------

    def _sequences(self, sequences: object, name: str = "sequences") -> list[np.ndarray]:
        """Checked sequences: ``(n, dim)`` float32 arrays, or a text RAE's id arrays."""
        if self._table is None:
            return _inputs.as_sequences(sequences, self.dim, name)
        return as_token_ids(sequences, self._table.vocabulary, name)

    def _labelled(self, sequences: object, labels: object) -> _inputs.Labelled:
        seqs = self._sequences(sequences)
        return _inputs.Labelled(seqs, _inputs.as_labels(labels, len(seqs), self.classes))

    def _keras_model(self) -> RAEModel:
        """The whole RAE as a Keras model (for callbacks), made once."""
        if self._keras is None:
            words = None if self._table is None else self._table.layer
            self._keras = RAEModel(self.network, self.classifier, words, self.optimizer, self.save)
        return self._keras

    def _fit_lbfgs(
        self,
        data: _inputs.Labelled,
        epochs: int,
        batch_size: int,
        verbose: int,
        validation: _inputs.Labelled | None,
        callbacks: list[keras.callbacks.Callback] | None,
        checkpoint_dir: str | os.PathLike[str] | None,
    ) -> dict[str, list[float]]:
        if checkpoint_dir is not None:
            raise ValueError(
                "checkpoint_dir does not apply to optimizer='lbfgs': its curvature pairs live"
                " in scipy's minimizer and are not saved, so a resumed search would not repeat"
                " an uninterrupted one; keras.callbacks.ModelCheckpoint keeps each iteration's"
                " weights"
            )
        trainee = self._trainee()
        return lbfgs.fit(
            self.trainable_weights,
            self._runner.loss_and_gradients,
            data,
            iterations=_options.check_positive("epochs", epochs),
            piece=_options.check_positive("batch_size", batch_size),
            verbose=_options.check_verbose(verbose),
            validation_logs=None
            if validation is None
            else lambda: trainer.validation_logs(trainee, validation),
            model=trainee.model,
            callbacks=callbacks,
            on_step=trainee.on_step,
        )

    def _trainee(self) -> trainer.Trainee:
        """What ``fit`` needs: the runner, the Keras model, evaluation, and a way to
        mark this RAE trained."""

        def trained() -> None:
            self._fitted = True

        return trainer.Trainee(
            self._runner, self._keras_model(), self._evaluate, self.pairs, trained
        )

    def _head(self) -> keras.Model:
        if self.classifier is None:
            raise ValueError("this RAE has no label head: create it with classes=K")
        return self.classifier

    def _plan(self, seqs: list[np.ndarray]) -> Plan:
        return build_plan(seqs, self.network, self.pairs, self.scorer, self.reconstruction)

    def _trees(
        self, seqs: list[np.ndarray], batch_size: int = 1024, progress: bool = False
    ) -> list[Tree]:
        return batch_trees(
            seqs, self.network, self.pairs, self.scorer, self.reconstruction, self._table,
            batch_size, progress,
        )  # fmt: skip

    def _evaluate(
        self, seqs: list[np.ndarray], labels: np.ndarray | None, batch_size: int = 1024
    ) -> tuple[float, float]:
        """Mean loss (without regularisers) and the head's accuracy (nan without labels)."""
        trees = self._trees(seqs, batch_size)
        loss = float(
            np.mean(
                losses.tree_losses(
                    trees, labels, self.classifier, self.alpha, self.head_loss, self.inner_weight
                )
            )
        )
        if labels is None:
            return loss, float("nan")
        roots = np.stack([t.root for t in trees])
        return loss, accuracy(self._head(), roots, labels)


class _Regularizers(NamedTuple):
    network: Any
    table: Any
    head: Any


def _l2_regularizers(l2: object) -> _Regularizers:
    """Keras L2 regularizers of ``lambda / 2 * |w|^2`` for each part (None where 0)."""
    if l2 is None:
        return _Regularizers(None, None, None)
    if (
        not isinstance(l2, (tuple, list))
        or len(l2) != 3
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in l2)
        or any(x < 0 for x in l2)
    ):
        raise ValueError(
            "l2 must be three non-negative numbers (network, word table, head), e.g."
            f" (1e-5, 1e-4, 1e-7), got {l2!r}"
        )
    return _Regularizers(*(keras.regularizers.L2(x / 2) if x > 0 else None for x in l2))
