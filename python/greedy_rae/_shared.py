"""Compiled functions shared by every model of one configuration in a process.

A ``tf.function`` that captures a network's variables is traced again for
every new network, and each trace (its graphs, their optimisation) costs time
and memory that a hyperparameter search pays on every fit. Here a compiled
function belongs to a *configuration* instead: the architecture of the
network (and head), the loss options, the optimizer's settings. It computes
with a *template*, a clone of the first network of that configuration, and
takes the weights' current values as arguments (Keras's ``stateless_call``
and ``stateless_apply``), so a new model of the same configuration reuses the
trace. The templates are clones: the cache never keeps a user's model, or its
weights, alive.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import keras

log = logging.getLogger("greedy_rae")


def architecture(model: keras.Model | None) -> str | None:
    """The model's configuration with its layers' names renamed in order of
    appearance (two models of the same architecture give the same string); ""
    for None; None when Keras cannot describe the model (a subclass without
    ``get_config``): such models keep functions of their own."""
    if model is None:
        return ""
    try:
        config = model.get_config()
    except Exception:  # noqa: BLE001 - subclassed models may not implement it
        return None
    names: dict[str, str] = {}

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            name = x.get("name")
            if isinstance(name, str):
                names.setdefault(name, f"n{len(names)}")
            for value in x.values():
                walk(value)
        elif isinstance(x, (list, tuple)):
            for value in x:
                walk(value)

    walk(config)
    try:
        text = json.dumps(
            {"class": type(model).__name__, "config": config}, sort_keys=True, default=repr
        )
    except (TypeError, ValueError):
        return None
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(json.dumps(name), json.dumps(names[name]))
    if " at 0x" in text:  # a repr of a live object (a function): not a description
        return None
    return text


def optimizer_settings(optimizer: keras.optimizers.Optimizer) -> str | None:
    """The optimizer's class and settings; a learning rate that is a number is
    left out (it is one of the optimizer's variables, passed in with them)."""
    try:
        config = dict(optimizer.get_config())
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(config.get("learning_rate"), dict):  # a schedule is part of the settings
        config.pop("learning_rate", None)
    config.pop("name", None)
    try:
        return json.dumps({"class": type(optimizer).__name__, **config}, sort_keys=True)
    except (TypeError, ValueError):
        return None


def clone(model: keras.Model) -> keras.Model:
    """A template of ``model``: the same architecture, weights of its own."""
    return keras.models.clone_model(model)


def probe(dim: int) -> list[Any]:
    """A merge network's probe input: two fixed random ``(2, dim)`` batches."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    return [tf.constant(rng.normal(size=(2, dim)).astype(np.float32)) for _ in range(2)]


def computes_like(template: keras.Model, model: keras.Model, inputs: Any) -> bool:
    """Whether ``template``, given ``model``'s weights, computes what ``model``
    does on ``inputs``: a layer whose ``get_config`` leaves a setting out would
    describe, and clone, as another layer; such a model keeps functions of its
    own."""
    import numpy as np
    import tensorflow as tf

    def flat(x: Any) -> list[Any]:
        return [np.asarray(t) for t in tf.nest.flatten(x)]

    mine, theirs = template.trainable_weights, model.trainable_weights
    fixed_mine, fixed_theirs = template.non_trainable_weights, model.non_trainable_weights
    if [w.shape for w in mine] != [w.shape for w in theirs] or [w.shape for w in fixed_mine] != [
        w.shape for w in fixed_theirs
    ]:
        return False
    try:
        want = flat(model(inputs, training=False))
        got = flat(
            template.stateless_call(
                [w.value for w in theirs], [w.value for w in fixed_theirs], inputs, training=False
            )[0]
        )
    except Exception:  # noqa: BLE001 - a model the template cannot stand for
        return False
    return len(got) == len(want) and all(
        a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(got, want)
    )
