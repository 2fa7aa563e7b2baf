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

from typing import TypeVar

import numpy as np

PAIR_MODES = ("all", "adjacent")
SCORERS = ("auto", "native", "tf")
REPLAYS = ("auto", "numpy", "graph")
NETWORK_KINDS = ("linear", "nonlinear")
# what fills a build's score tables (the core's BuildKind): a native network kind, or the cache
# that an outside (TF) scorer fills
BUILD_KINDS = (*NETWORK_KINDS, "cache")
RECONSTRUCTIONS = ("plain", "weighted")
ACTIVATIONS = ("linear", "tanh", "relu")
# a tree's features: its root, the mean of its 2n - 1 nodes, the mean of its n leaves (mean
# pooling), or several of them side by side in this order
FEATURES = ("root", "mean", "leaves", "root+mean", "root+mean+leaves")
VERBOSITY = (0, 1, 2)

_T = TypeVar("_T")


def _words(choices: tuple[object, ...]) -> str:
    quoted = [repr(c) for c in choices]
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


def check_classes(classes: object) -> int | None:
    if classes is None:
        return None
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise ValueError(f"classes must be an integer >= 2 (or None), got {classes!r}")
    return int(classes)


def check_verbose(verbose: object) -> int:
    return check_choice("verbose", verbose, VERBOSITY)
