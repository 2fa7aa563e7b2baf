"""scikit-learn interface: :class:`RAEEncoder`, a transformer from sequences to
features, and :class:`RAEClassifier`, a classifier of sequences.

Needs scikit-learn (``pip install 'greedy-rae[sklearn]'``). Both take ``X`` as
a list of ``(n_i, dim)`` arrays, a 2-D array whose rows are univariate series
(cut into windows, a window a leaf), or texts with ``text=True``. Their defaults
are Socher et al.'s semi-supervised RAE, chosen once for every data set in
``bench/classify.py`` and not tuned per set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
    from sklearn.utils.validation import check_is_fitted
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError(
        "greedy_rae.sklearn needs scikit-learn: pip install 'greedy-rae[sklearn]'"
    ) from None

import greedy_rae as gr
from greedy_rae import _inputs, _options
from greedy_rae._estimators import (
    PicklesModelFile,
    class_codes,
    is_rows,
    seed_of,
    shared_params,
)
from greedy_rae._windows import check_window, leaves, resolve_window


class RAEEncoder(PicklesModelFile, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A greedy RAE as a scikit-learn transformer.

    ``fit(X, y=None)`` trains an :class:`~greedy_rae.RAE` on ``X``, a list of
    ``(n_i, dim)`` arrays, or a 2-D array whose rows are
    univariate series cut into windows of ``window`` samples, a window a leaf;
    ``transform(X)`` returns their features. With ``y`` (any class labels;
    ``unlabelled`` marks sequences without one), training is semi-supervised:
    a label head is trained with the reconstruction, as in a ``Pipeline``
    ending in a classifier, which hands ``y`` to every step's ``fit``. Works
    in ``Pipeline``, ``cross_val_score``
    and ``GridSearchCV``; survives ``clone`` and pickling (the trained networks
    travel inside the pickle).

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; default: that of ``X`` (50 with ``text``).
    pairs, activation, normalize, decoder_activation, reconstruction, alpha
        As for :class:`~greedy_rae.RAE`; the defaults are Socher et al.'s
        network: adjacent pairs, tanh, unit-length parents, a linear decoder,
        weighted reconstruction.
    supervised : bool
        Train the label head on ``y`` when ``fit`` is given one (default);
        ``False`` ignores ``y``.
    n_classes : int, optional
        The size of the label head, with ``y`` already coded
        ``0..n_classes-1`` (and -1, unlabelled); default: the distinct labels
        of ``y``. (``RAE``'s ``classes``; named apart from scikit-learn's
        ``classes_``, the labels themselves.)
    unlabelled : optional
        The label that marks an unlabelled sequence in ``y`` (for example -1,
        as in scikit-learn's semi-supervised estimators): such sequences train
        the reconstruction only. Default None: every label is a class.
    epochs : int, optional
        Passes over the data (iterations with ``optimizer="lbfgs"``); default
        50, or 5 with ``text`` (a word table overfits sooner).
    batch_size : int
        Minibatch size.
    learning_rate : float, optional
        Adam's learning rate; default 0.01, or 0.001 with ``text``.
    optimizer : {"adam", "lbfgs"}
        ``"adam"``: ``epochs`` passes of minibatch steps; ``"lbfgs"``: full-batch
        L-BFGS, ``epochs`` iterations over the whole training set (Socher et
        al.'s optimizer; ``learning_rate`` does not apply).
    features : {"root", "mean", "leaves", "root+mean", "root+mean+leaves"}
        What ``transform`` returns (see :meth:`RAE.encode`): by default the
        root, the mean of all nodes and the mean of the leaves.
    standardize : bool
        Standardise each leaf column with the training leaves' mean and
        deviation (kept as ``mean_`` and ``scale_``) before the RAE sees them;
        not for texts.
    random_state : int, optional
        Seed of the initial weights and of the shuffling.
    text : bool
        ``X`` holds texts (strings, token lists or 1-D id arrays): a word table
        is trained with the network (see :class:`~greedy_rae.RAE`). Strings are
        cut by the default tokeniser (words and runs of punctuation apart, see
        :mod:`greedy_rae.text`); give token lists, or a ``vocabulary`` with a
        tokeniser of your own, for others.
    min_count : int
        With ``text``, words seen fewer times in the training texts are
        ``<unk>`` (default 2: words seen once are).
    vocabulary : Vocabulary, optional
        With ``text``: a vocabulary of your own (default: the training texts'
        words seen ``min_count`` times).
    embeddings : "cooccurrence" or word vectors, optional
        With ``text``, the word table's start: by default (None) small random
        rows, as Socher et al.'s; ``"cooccurrence"``, word vectors of the
        training texts themselves (:func:`~greedy_rae.text.cooccurrence_vectors`,
        unlabelled texts included); or vectors of your own, as
        :class:`~greedy_rae.RAE` takes them.
    window : int, optional
        With a 2-D ``X``: samples a leaf (default 10, or the row's length when
        shorter); windows do not overlap, except the last, which ends at the
        row's end. ``window_`` holds the one used (None for a list of sequences).

    Attributes
    ----------
    rae_ : RAE
        The trained RAE (it sees standardised leaves when ``standardize``).
    classes_ : numpy.ndarray
        The labels the head was trained on (empty when unsupervised).
    """

    def __init__(
        self,
        dim: int | None = None,
        pairs: str = _options.ESTIMATOR.pairs,
        activation: str = _options.ESTIMATOR.activation,
        normalize: bool = _options.ESTIMATOR.normalize,
        decoder_activation: str = _options.ESTIMATOR.decoder_activation,
        reconstruction: str = _options.ESTIMATOR.reconstruction,
        supervised: bool = True,
        n_classes: int | None = None,
        unlabelled: Any = None,
        alpha: float = _options.ESTIMATOR.alpha,
        epochs: int | None = _options.ESTIMATOR.epochs,
        batch_size: int = _options.ESTIMATOR.batch_size,
        learning_rate: float | None = _options.ESTIMATOR.learning_rate,
        optimizer: str = _options.ESTIMATOR.optimizer,
        features: str = _options.ESTIMATOR.features,
        standardize: bool = True,
        random_state: int | None = None,
        text: bool = False,
        min_count: int = _options.TEXT_MIN_COUNT,
        vocabulary: Any = None,
        embeddings: Any = None,
        window: int | None = None,
    ) -> None:
        self.dim = dim
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.decoder_activation = decoder_activation
        self.reconstruction = reconstruction
        self.supervised = supervised
        self.n_classes = n_classes
        self.unlabelled = unlabelled
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.features = features
        self.standardize = standardize
        self.random_state = random_state
        self.text = text
        self.min_count = min_count
        self.vocabulary = vocabulary
        self.embeddings = embeddings
        self.window = window

    def _check_X(self, X: Any, fitted: bool) -> list[Any]:
        """``X`` as checked sequences (texts with ``text``); a 2-D ``X`` (an
        array of rows) is checked as scikit-learn checks one."""
        if self.text:
            sequences = list(X) if not isinstance(X, (str, bytes)) else [X]
            if not sequences:
                raise ValueError("X is empty: give at least one text")
            return sequences
        if is_rows(X):
            seqs = self._row_sequences(X, fitted)
        else:
            if not fitted:  # what a fit on rows leaves, cleared
                self.window_: int | None = None
                self.__dict__.pop("n_features_in_", None)
            if isinstance(X, np.ndarray) and X.ndim == 3 and X.dtype != object:
                raise ValueError(
                    f"X is a 3-D array of shape {X.shape}: that is sktime's and aeon's panel"
                    " layout (instances, channels, time), which greedy_rae.sktime and"
                    " greedy_rae.aeon read; here X is a list of (n, dim) sequences (leaves"
                    " in rows) or a 2-D array of univariate rows. For a 3-D array of"
                    " sequences with leaves in rows, pass list(X)"
                )
            if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype != object:
                raise ValueError(
                    f"X must be a list of (n, dim) sequences or a 2-D array, got a 1-D array"
                    f" of shape {X.shape}. Reshape your data: [x.reshape(-1, 1)] for one"
                    " sequence of one-number leaves, x.reshape(1, -1) for one row of a 2-D array"
                )
            seqs = _inputs.as_sequences(X, self.rae_.dim if fitted else self.dim, "X")
        return seqs

    def _row_sequences(self, X: Any, fitted: bool) -> list[np.ndarray]:
        """The rows of a 2-D ``X`` as sequences of windows."""
        from sklearn.utils.validation import validate_data

        if fitted and self.window_ is None:
            raise ValueError(
                "X is a 2-D array, but this encoder was fitted on a list of sequences:"
                " give X in the form it was fitted on"
            )
        if isinstance(X, (list, tuple)):
            lengths = sorted({len(row) for row in X})
            if len(lengths) > 1:
                shown = ", ".join(map(str, lengths[:4])) + (", ..." if len(lengths) > 4 else "")
                raise ValueError(
                    f"X's rows have different lengths ({shown}); give univariate series of"
                    " unequal length as a list of (n, 1) arrays, or to greedy_rae.sktime or"
                    " greedy_rae.aeon, which cut them into windows"
                )
        rows = validate_data(self, X, reset=not fitted, dtype=[np.float64, np.float32])
        if not fitted:
            check_window(self.window)
            self.window_ = resolve_window(self.window, 1, rows.shape[1])
        window = self.window_
        assert window is not None  # fitted on rows, or set just above
        return [leaves(row[None, :], window).astype(np.float32) for row in rows]

    def fit(self, X: Any, y: Any = None) -> RAEEncoder:
        return self._fit(self._check_X(X, fitted=False), y)

    def _fit(self, sequences: list[Any], y: Any) -> RAEEncoder:
        """``fit`` on checked sequences."""
        gr._import_tensorflow()  # without TensorFlow's start-up notes, as ``import greedy_rae``
        import keras

        text: dict[str, Any] = {}
        if self.text:
            from greedy_rae.text import Vocabulary

            vocabulary = self.vocabulary
            if vocabulary is None:  # the training texts' words
                vocabulary = Vocabulary.from_texts(sequences, min_count=self.min_count)
            dim = self.dim if self.dim is not None else 50
            embeddings = _options.check_table_start(self.embeddings)
            if isinstance(embeddings, str):  # the training texts' own word vectors
                from greedy_rae.text import cooccurrence_vectors

                embeddings = cooccurrence_vectors(
                    sequences, vocabulary, dim, seed=seed_of(self.random_state)
                )
            text = {"vocabulary": vocabulary, "embeddings": embeddings}
        else:
            dim = sequences[0].shape[1]
            if self.standardize:
                frames = np.concatenate(sequences)
                self.mean_ = frames.mean(axis=0)
                scale = frames.std(axis=0)
                self.scale_ = np.where(scale > 0, scale, 1.0).astype(np.float32)
                sequences = [(s - self.mean_) / self.scale_ for s in sequences]
        labels = None
        self.classes_ = np.array([])
        if self.supervised and y is not None:
            if self.n_classes is None:
                self.classes_, labels = class_codes(y, len(sequences), self.unlabelled)
            else:
                labels = y
                self.classes_ = np.arange(self.n_classes)
        seed = seed_of(self.random_state)
        if seed is not None:
            keras.utils.set_random_seed(seed)
        rae = gr.RAE(
            dim,
            pairs=self.pairs,
            activation=self.activation,
            normalize=self.normalize,
            decoder_activation=self.decoder_activation,
            reconstruction=self.reconstruction,
            classes=None if labels is None else len(self.classes_),
            alpha=self.alpha,
            optimizer=self._keras_optimizer(keras),
            **text,
        )
        rae.fit(
            sequences,
            labels=labels,
            epochs=_options.estimator_epochs(self.epochs, self.text),
            batch_size=self.batch_size,
            verbose=0,
            seed=seed,
        )
        self.rae_ = rae
        self.n_features_out_ = rae.dim * len(self.features.split("+"))
        return self

    def _keras_optimizer(self, keras: Any) -> Any:
        """The RAE's optimizer: Adam at ``learning_rate``, or ``"lbfgs"``."""
        _options.check_choice("optimizer", self.optimizer, _options.OPTIMIZERS)
        if self.optimizer == "lbfgs":
            if self.learning_rate is not None:
                raise ValueError(
                    "learning_rate is Adam's: optimizer='lbfgs' chooses its steps by a line"
                    " search; leave learning_rate at its default (None)"
                )
            return "lbfgs"
        rate = _options.estimator_learning_rate(self.learning_rate, self.text)
        return keras.optimizers.Adam(rate)

    def transform(self, X: Any) -> np.ndarray:
        """The features of each sequence, float32 ``(len(X), n_features_out_)``."""
        check_is_fitted(self, "rae_")
        return self._encode(self._check_X(X, fitted=True))

    def _encode(self, sequences: list[Any]) -> np.ndarray:
        """The features of checked sequences (standardised here when asked)."""
        if self.standardize and not self.text:
            sequences = [(s - self.mean_) / self.scale_ for s in sequences]
        return self.rae_.encode(sequences, features=self.features)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # the features are float32
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The feature names: ``root_0``, ..., ``mean_0``, ..., ``leaves_0``, ..."""
        check_is_fitted(self, "rae_")
        names = [f"{part}_{i}" for part in self.features.split("+") for i in range(self.rae_.dim)]
        return np.asarray(names, dtype=object)


class RAEClassifier(PicklesModelFile, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A semi-supervised greedy RAE as a scikit-learn classifier.

    ``fit(X, y)`` trains an :class:`RAEEncoder` with a label head on ``X`` (a
    list of ``(n_i, dim)`` arrays, a 2-D array of univariate rows, or texts with
    ``text=True``) and ``y`` (any labels; with ``unlabelled`` set, that label
    marks sequences without one, which train the reconstruction only), then, as
    Socher et al. did, a logistic regression on the standardised features of
    the labelled sequences (by default the root, the mean of all nodes and the
    mean of the leaves); ``predict`` and ``predict_proba`` use that regression.
    With ``cv`` of 2 or more (the default for texts), the RAE and its regression
    are cross-fitted (see ``cv``). Works in ``Pipeline``, ``cross_val_score`` and
    ``GridSearchCV``; survives ``clone`` and pickling.

    The parameters dim, pairs, activation, normalize, decoder_activation,
    reconstruction, supervised, alpha, epochs, batch_size, learning_rate, optimizer, features,
    standardize, random_state, text, min_count, vocabulary, embeddings, window,
    unlabelled: as for :class:`RAEEncoder`, with the same defaults. ``supervised=False``
    trains the RAE by reconstruction alone; the logistic regression still learns ``y``.

    Parameters
    ----------
    C : float
        The logistic regression's inverse regularisation strength.
    cv : int, optional
        Cross-fitting. With ``cv=K`` (2 or more), the labelled sequences are cut
        into K stratified folds (shuffled, seeded by ``random_state``); K RAEs
        are trained, each on all folds but one (and every unlabelled sequence),
        and each RAE's regression on the features of the fold it did not see;
        ``predict_proba`` averages the K regressions' probabilities (as
        scikit-learn's ``CalibratedClassifierCV(ensemble=True)`` does). A
        regression fitted on the features of the very sequences its RAE was
        trained on learns how the RAE fits them rather than how it carries over
        to new ones; out of fold, it learns the second. With ``cv=2`` the fit
        costs about what one RAE on every sequence costs (each RAE sees half of
        them); each fold past that adds about one more (``cv=3``: about twice).
        ``cv=1``: one RAE on every sequence, its regression on those sequences'
        features (Socher et al.'s protocol). Default None: 1, or 3 with
        ``text=True`` (measured on the tweets of ``bench/classify_text.py``).
        Every class needs at least ``cv`` labelled sequences.

    Attributes
    ----------
    encoders_ : list of RAEEncoder
        The fitted RAEs, one a fold (one with ``cv=1``); ``encoder_`` is the
        first.
    regressions_ : list of Pipeline
        Each RAE's scaler and logistic regression; ``regression_`` is the first.
    """

    def __init__(
        self,
        dim: int | None = None,
        pairs: str = _options.ESTIMATOR.pairs,
        activation: str = _options.ESTIMATOR.activation,
        normalize: bool = _options.ESTIMATOR.normalize,
        decoder_activation: str = _options.ESTIMATOR.decoder_activation,
        reconstruction: str = _options.ESTIMATOR.reconstruction,
        supervised: bool = True,
        alpha: float = _options.ESTIMATOR.alpha,
        epochs: int | None = _options.ESTIMATOR.epochs,
        batch_size: int = _options.ESTIMATOR.batch_size,
        learning_rate: float | None = _options.ESTIMATOR.learning_rate,
        optimizer: str = _options.ESTIMATOR.optimizer,
        features: str = _options.ESTIMATOR.features,
        standardize: bool = True,
        C: float = 1.0,
        random_state: int | None = None,
        text: bool = False,
        min_count: int = _options.TEXT_MIN_COUNT,
        vocabulary: Any = None,
        embeddings: Any = None,
        window: int | None = None,
        unlabelled: Any = None,
        cv: int | None = None,
    ) -> None:
        self.dim = dim
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.decoder_activation = decoder_activation
        self.reconstruction = reconstruction
        self.supervised = supervised
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.features = features
        self.standardize = standardize
        self.C = C
        self.cv = cv
        self.random_state = random_state
        self.text = text
        self.min_count = min_count
        self.vocabulary = vocabulary
        self.embeddings = embeddings
        self.window = window
        self.unlabelled = unlabelled

    def fit(self, X: Any, y: Any) -> RAEClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if y is None:
            raise ValueError("RAEClassifier requires y to be passed, but the target y is None")
        folds = _options.estimator_cv(self.cv, self.text)
        # the codes below mark unlabelled sequences by -1
        params = {**shared_params(self, RAEEncoder), "unlabelled": -1}
        checker = RAEEncoder(**params)
        sequences = checker._check_X(X, fitted=False)
        # what the check learnt of X's form (rows: window_, n_features_in_), for every fold's
        checked = {k: v for k, v in vars(checker).items() if k.endswith("_")}
        self.classes_, codes = class_codes(y, len(sequences), self.unlabelled)
        known = codes >= 0
        if folds == 1:
            # one RAE on every sequence, its regression on the labelled ones
            splits = [(np.arange(len(sequences)), np.flatnonzero(known))]
        else:
            splits = self._folds(folds, codes)
            if self.text and self.vocabulary is None:
                # one vocabulary, of every training text, for all the folds' RAEs
                from greedy_rae.text import Vocabulary

                params["vocabulary"] = Vocabulary.from_texts(sequences, min_count=self.min_count)
        seed = seed_of(self.random_state)
        self.encoders_, self.regressions_ = [], []
        for k, (train, held) in enumerate(splits):
            fold = {} if seed is None else {"random_state": seed + k}
            encoder = RAEEncoder(**{**params, **fold})
            encoder.__dict__.update(checked)
            encoder._fit([sequences[i] for i in train], codes[train])
            features = encoder._encode([sequences[i] for i in held])
            regression = make_pipeline(
                StandardScaler(), LogisticRegression(C=self.C, max_iter=5000)
            ).fit(features, codes[held])
            self.encoders_.append(encoder)
            self.regressions_.append(regression)
        self.encoder_, self.regression_ = self.encoders_[0], self.regressions_[0]
        if hasattr(self.encoder_, "n_features_in_"):  # rows: their width
            self.n_features_in_ = self.encoder_.n_features_in_
        else:
            self.__dict__.pop("n_features_in_", None)
        return self

    def _folds(self, folds: int, codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(RAE's sequences, regression's sequences)`` of each fold: all
        labelled folds but one and every unlabelled sequence, and that one."""
        from sklearn.model_selection import StratifiedKFold

        labelled = np.flatnonzero(codes >= 0)
        counts = np.bincount(codes[labelled], minlength=len(self.classes_))
        if counts.min() < folds:
            few = self.classes_[int(np.argmin(counts))]
            raise ValueError(
                f"cv={folds} needs at least {folds} labelled sequences of every class;"
                f" class {few!r} has {int(counts.min())} (give a smaller cv, or cv=1)"
            )
        unlabelled = np.flatnonzero(codes < 0)
        cutter = StratifiedKFold(folds, shuffle=True, random_state=seed_of(self.random_state))
        return [
            (np.sort(np.concatenate([labelled[train], unlabelled])), labelled[held])
            for train, held in cutter.split(labelled, codes[labelled])
        ]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_`` (with
        ``cv`` of 2 or more, the mean of the folds' regressions)."""
        check_is_fitted(self, "regressions_")
        proba = np.zeros((0, len(self.classes_)))
        for encoder, regression in zip(self.encoders_, self.regressions_):
            part = regression.predict_proba(encoder.transform(X))
            if len(proba) == 0:
                proba = np.zeros((len(part), len(self.classes_)))
            # a regression's columns: the class codes it saw (every class, stratified)
            proba[:, regression.classes_] += part
        return np.asarray(proba / len(self.encoders_))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sequence (a value of ``classes_``)."""
        check_is_fitted(self, "regressions_")
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
