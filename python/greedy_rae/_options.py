"""The options a user chooses from, and their checks (no TensorFlow here).

One word for each idea, used the same way in Python, C++, the CLI and the README:

- ``scorer``: the user's choice of what scores candidate pairs: ``"native"``
  (the C++ engine computes the built-in network), ``"tf"`` (TensorFlow calls
  any Keras network), ``"auto"`` (native where it applies).
- network kind: what the native scorer computes, ``"linear"`` (the post's
  network, O(d) a pair) or ``"nonlinear"`` (activations or normalisation).
- ``"cache"``: the core's forest, which keeps the errors an outside scorer
  (the TF one) hands it.
- ``replay``: the user's choice of how training computes gradients:
  ``"numpy"`` (the gradient pass and Adam written out in numpy, for the
  networks the native scorer computes), ``"graph"`` (a compiled TensorFlow
  graph, for any network and on a GPU), ``"auto"`` (numpy where it applies and
  no GPU is visible).
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np

PAIR_MODES = ("all", "adjacent")
SCORERS = ("auto", "native", "tf")
REPLAYS = ("auto", "numpy", "graph")
NETWORK_KINDS = ("linear", "nonlinear")
# what fills a build's score tables (the core's BuildKind): a native network kind, or the cache
# that an outside (TF) scorer fills
BUILD_KINDS = (*NETWORK_KINDS, "cache")
RECONSTRUCTIONS = ("plain", "weighted")
# the head's error at a node (RAE's head_loss; see greedy_rae.losses)
HEAD_LOSSES = ("cross_entropy", "squared")

ACTIVATIONS = ("linear", "tanh", "relu")
# a tree's features: its root, the mean of its 2n - 1 nodes, the mean of its n leaves (mean
# pooling), or several of them side by side in this order
FEATURES = ("root", "mean", "leaves", "root+mean", "root+mean+leaves")
VERBOSITY = (0, 1, 2)
# the estimators' and the command line's optimizer: Adam's minibatch steps, or full-batch L-BFGS
OPTIMIZERS = ("adam", "lbfgs")

_T = TypeVar("_T")


def _words(choices: tuple[object, ...]) -> str:
    quoted = [repr(c) for c in choices]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def check_choice(name: str, value: object, choices: tuple[_T, ...]) -> _T:
    """``value`` when it is one of ``choices``, else a ValueError naming ``name``."""
    kind = (str,) if isinstance(choices[0], str) else (int, np.integer)
    if isinstance(value, bool) or not isinstance(value, kind) or value not in choices:
        raise ValueError(f"{name} must be {_words(choices)}, got {value!r}")
    return value  # type: ignore[return-value]  # one of choices


def check_pairs(pairs: object) -> str:
    return check_choice("pairs", pairs, PAIR_MODES)


def check_reconstruction(reconstruction: object) -> str:
    return check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)


def check_scorer(scorer: object) -> str:
    return check_choice("scorer", scorer, SCORERS)


def check_replay(replay: object) -> str:
    return check_choice("replay", replay, REPLAYS)


def check_features(features: object) -> str:
    return check_choice("features", features, FEATURES)


def check_activation(name: str, value: object) -> str:
    return check_choice(name, value, ACTIVATIONS)


def check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    return float(alpha)


def check_inner_weight(weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)):
        raise ValueError(f"inner_weight must be a number >= 0, got {weight!r}")
    if not 0.0 <= float(weight) < float("inf"):
        raise ValueError(f"inner_weight must be a finite number >= 0, got {weight!r}")
    return float(weight)


def check_classes(classes: object) -> int | None:
    if classes is None:
        return None
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes must be an integer >= 2 (or None), got {classes!r}")
    return int(classes)


def check_verbose(verbose: object) -> int:
    return check_choice("verbose", verbose, VERBOSITY)


class Defaults(NamedTuple):
    """The defaults of one front end (see :data:`MODEL` and :data:`ESTIMATOR`)."""

    pairs: str
    activation: str
    normalize: bool
    decoder_activation: str
    reconstruction: str
    alpha: float
    learning_rate: float | None
    optimizer: str
    epochs: int | None
    batch_size: int
    features: str


# gr.RAE, RAE.fit and RAE.encode: the post's network and Adam's own learning rate,
# so that an RAE with no options is the post's, tree for tree; epochs=1 as keras.Model.fit
MODEL_EPOCHS = 1  # RAE.fit's, as keras.Model.fit's
MODEL = Defaults(
    pairs="all",
    activation="linear",
    normalize=False,
    decoder_activation="linear",
    reconstruction="plain",
    alpha=0.2,
    learning_rate=0.001,
    optimizer="adam",
    epochs=MODEL_EPOCHS,
    batch_size=32,
    features="root",
)


class ObjectiveDefaults(NamedTuple):
    """Socher et al.'s objective options of ``gr.RAE`` and the command line."""

    normalize_reconstruction: bool
    head_loss: str
    inner_weight: float


# off, so that the post's model and the softmax head stay as they were; the
# estimators do not take them (their RAEs keep these)
OBJECTIVE = ObjectiveDefaults(
    normalize_reconstruction=False, head_loss="cross_entropy", inner_weight=1.0
)
# a text RAE keeps word order: only neighbours merge (every RAE for sentences does)
TEXT_PAIRS = "adjacent"
# the command line's fit: the RAE's model, trained to the end in one call
CLI_EPOCHS = 50
# the scikit-learn, sktime and aeon estimators: Socher et al.'s semi-supervised RAE,
# chosen once for every set of bench/classify.py (a classifier's or a feature maker's model)
ESTIMATOR = Defaults(
    pairs="adjacent",
    activation="tanh",
    normalize=True,
    decoder_activation="linear",
    reconstruction="weighted",
    alpha=0.2,
    learning_rate=None,  # SERIES_LEARNING_RATE, or TEXT_LEARNING_RATE with text=True
    optimizer="adam",
    epochs=None,  # SERIES_EPOCHS, or TEXT_EPOCHS with text=True
    batch_size=32,
    features="root+mean+leaves",
)


# named sets of RAE options (RAE.from_preset); each says where it comes from
PRESETS: dict[str, dict[str, object]] = {
    # Socher et al. (EMNLP 2011), their released code (codeDataMoviesEMNLP):
    # trainTestRAE.m (d = 50, alpha_cat = 0.2, lambda = [1e-5, 1e-4, 1e-7], minFunc's
    # L-BFGS for 70 iterations: fit(epochs=70)), forwardPropRAE.m (tanh parents
    # of unit length, tanh reconstructions of unit length, the unweighted error, the sigmoid
    # head's squared error, inner nodes weighted params.beta = 0.5 against
    # words), RAECost.m (the word table an offset from its random start,
    # regularised toward it)
    "socher2011": {
        "dim": 50,
        "pairs": "adjacent",
        "activation": "tanh",
        "normalize": True,
        "decoder_activation": "tanh",
        "normalize_reconstruction": True,
        "reconstruction": "plain",
        "alpha": 0.2,
        "head_loss": "squared",
        "inner_weight": 0.5,
        "optimizer": "lbfgs",
        "l2": (1e-5, 1e-4, 1e-7),
        "embeddings_anchor": True,  # with a vocabulary
    },
}


def check_preset(name: object) -> dict[str, object]:
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"preset must be {_words(tuple(PRESETS))}, got {name!r}")
    return dict(PRESETS[name])


# the estimators' epochs: sequences of vectors train longer than texts, whose word
# tables overfit (chosen once on the tweets and the movie sentences of
# bench/classify_text.py: see the benchmarks page)
SERIES_EPOCHS = 50
TEXT_EPOCHS = 5
# the estimators' Adam: a word table (a row a word) takes smaller steps than a network
# over vectors (chosen with TEXT_EPOCHS: see the defaults page)
SERIES_LEARNING_RATE = 0.01
TEXT_LEARNING_RATE = 0.001
# the estimators' text=True vocabulary: words seen once are <unk>
TEXT_MIN_COUNT = 2
# the estimators' text=True word table: Socher et al.'s small random start (None), or
# "cooccurrence", the training texts' own word vectors (greedy_rae.text.cooccurrence_vectors;
# measured on the tweets beside the default: see the benchmarks page)
TABLE_STARTS = ("cooccurrence",)


def check_table_start(embeddings: object) -> object:
    """An estimator's ``embeddings``: None, a name of :data:`TABLE_STARTS`, or vectors."""
    if isinstance(embeddings, str) and embeddings not in TABLE_STARTS:
        raise ValueError(
            f"embeddings must be None (a small random start), {_words(TABLE_STARTS)} or word"
            f" vectors, got {embeddings!r}"
        )
    return embeddings


# every vocabulary's tokeniser unless told (greedy_rae.text.TOKENIZERS)
TOKENIZER = "words"


def estimator_epochs(epochs: object, text: bool) -> int:
    """An estimator's ``epochs``, None resolved: 50, or 5 for texts."""
    if epochs is None:
        return TEXT_EPOCHS if text else SERIES_EPOCHS
    return check_positive("epochs", epochs)


def estimator_learning_rate(rate: object, text: bool) -> float:
    """An estimator's ``learning_rate``, None resolved: 0.01, or 0.001 for texts."""
    if rate is None:
        return TEXT_LEARNING_RATE if text else SERIES_LEARNING_RATE
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
        raise ValueError(f"learning_rate must be a positive number or None, got {rate!r}")
    if not 0.0 < float(rate) < float("inf"):
        raise ValueError(f"learning_rate must be a positive finite number, got {rate!r}")
    return float(rate)


# RAEClassifier's cross-fitting (cv=None resolved): with texts, three RAEs each trained on
# two thirds of the labelled texts, each one's regression on the third it did not see
# (measured on the tweets: see the benchmarks page); series keep one RAE, its regression on
# its own training features (Socher et al.'s protocol)
SERIES_CV = 1
TEXT_CV = 3


def estimator_cv(cv: object, text: bool) -> int:
    """RAEClassifier's ``cv``, None resolved: 1, or 3 for texts."""
    if cv is None:
        return TEXT_CV if text else SERIES_CV
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 1:
        raise ValueError(f"cv must be a whole number >= 1 (folds) or None, got {cv!r}")
    return int(cv)


def defaults_table() -> str:
    """The front ends' defaults side by side, as a Markdown table (the docs print it)."""
    rows = [
        "| parameter | `gr.RAE` (Python) | `greedy-rae fit` / `encode` | estimators |",
        "|---|---|---|---|",
    ]

    def cell(value: object) -> str:
        return f"`{value!r}`" if not isinstance(value, bool) else f"`{value}`"

    # the estimators' None, resolved by text=
    resolved = {
        "epochs": (SERIES_EPOCHS, TEXT_EPOCHS),
        "learning_rate": (SERIES_LEARNING_RATE, TEXT_LEARNING_RATE),
    }

    for name in Defaults._fields:
        model = getattr(MODEL, name)
        cli: object = CLI_EPOCHS if name == "epochs" else model
        if name == "pairs":
            model_cell = f"{cell(model)}; {cell(TEXT_PAIRS)} with a vocabulary"
            cli_cell = f"{cell(cli)}; {cell(TEXT_PAIRS)} with `--text`"
        else:
            model_cell, cli_cell = cell(model), cell(cli)
        estimator = cell(getattr(ESTIMATOR, name))
        if name in resolved:
            series, text = resolved[name]
            estimator += f": {cell(series)}, {cell(text)} with `text=True`"
        rows.append(f"| `{name}` | {model_cell} | {cli_cell} | {estimator} |")
    rows.append(
        "| seed | `fit(seed=)`: the shuffling (the weights: `keras.utils.set_random_seed`"
        " before `RAE()`) | `--seed 0`: the weights and the shuffling |"
        " `random_state=None`: the weights and the shuffling |"
    )
    for name, value in OBJECTIVE._asdict().items():
        rows.append(
            f"| `{name}` | {cell(value)} | {cell(value)} | {cell(value)} (the RAE's; not a"
            " parameter) |"
        )
    rows.append(
        f"| `min_count` (text) | `Vocabulary.from_texts(min_count=1)` | `--min-count 1` |"
        f" `{TEXT_MIN_COUNT}` |"
    )
    rows.append(
        f"| tokeniser (text) | `Vocabulary(tokenizer={TOKENIZER!r})` | `--tokenizer {TOKENIZER}` |"
        f" `{TOKENIZER!r}` (the vocabulary's) |"
    )
    rows.append(
        "| word table's start (text) | small and random (`embeddings=None`) | small and random"
        " (`--embeddings PATH` for vectors; `--cooccurrence`: the texts' own) |"
        " `embeddings=None`: small and random;"
        f" `embeddings={TABLE_STARTS[0]!r}`: the training texts' own vectors |"
    )
    rows.append(
        "| cross-fitting (classifier) | - | - |"
        f" `cv=None`: `{SERIES_CV}` (one RAE), `{TEXT_CV}` with `text=True` |"
    )
    rows.append(
        "| unlabelled mark | `-1` | `-1` in an `.npy`; no `__label__` prefix (or an empty"
        " line of `--labels`) in a text file | `unlabelled=None`: every label is a class |"
    )
    return "\n".join(rows) + "\n"
