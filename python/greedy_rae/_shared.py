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
