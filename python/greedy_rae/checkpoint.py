"""Training checkpoints: network, optimizer state, epoch and shuffling state.

One file, ``checkpoint.npz`` in the checkpoint folder, written to a temporary
name and renamed over the old one, so an interrupted write leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Protocol

import numpy as np

from greedy_rae._files import user_file_mode

FILE = "checkpoint.npz"


def path_in(folder: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(folder), FILE)


def save(
    folder: str | os.PathLike[str],
    weights: list[np.ndarray],
    optimizer: list[np.ndarray],
    state: dict[str, Any],
) -> None:
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    arrays: dict[str, Any] = {f"w{k}": w for k, w in enumerate(weights)}
    arrays.update({f"o{k}": v for k, v in enumerate(optimizer)})
    arrays["state"] = np.array(json.dumps(state))
    fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, user_file_mode())
        os.replace(tmp, path_in(folder))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(
    folder: str | os.PathLike[str],
) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, Any]] | None:
    """The saved (weights, optimizer variables, state), or None when there is none."""
    path = path_in(folder)
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            state = json.loads(str(z["state"]))
            weights = [z[f"w{k}"] for k in range(state["n_weights"])]
            optimizer = [z[f"o{k}"] for k in range(state["n_optimizer"])]
            if not isinstance(state.get("epoch"), int):
                raise ValueError("no epoch count")
    except Exception as e:  # truncated, foreign or garbage: say which file and why
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(
            f"the checkpoint {path!r} is damaged or not a greedy-rae checkpoint ({reason});"
            " remove it to start afresh"
        ) from None
    return weights, optimizer, state


class Weights(Protocol):
    """What a checkpoint reads and writes: the whole model's weights (network, head)."""

    def get_weights(self) -> list[np.ndarray]: ...
    def set_weights(self, weights: list[np.ndarray]) -> None: ...


def write(
    folder: str | os.PathLike[str],
    model: Weights,
    optimizer_variables: list[Any],
    state: dict[str, Any],
) -> None:
    """Save the model's weights, the optimizer state's variables and ``state`` (JSON)."""
    weights = model.get_weights()
    opt = [np.asarray(v.numpy()) for v in optimizer_variables]
    save(folder, weights, opt, dict(state, n_weights=len(weights), n_optimizer=len(opt)))


def resume(
    folder: str | os.PathLike[str],
    model: Weights,
    optimizer_variables: list[Any],
    run: dict[str, Any],
) -> dict[str, Any] | None:
    """Load a checkpoint written by a fit with the same ``run`` arguments into
    the model and the optimizer state; returns its state, or None when there is none."""
    saved = load(folder)
    if saved is None:
        return None
    weights, opt, state = saved
    for key, value in run.items():
        if state.get(key) != value:
            raise ValueError(
                f"the checkpoint in {os.fspath(folder)!r} was written by a fit with"
                f" {key}={state.get(key)!r}, this fit has {key}={value!r}; use the same"
                " arguments to resume, or another checkpoint_dir"
            )
    shapes = [tuple(w.shape) for w in model.get_weights()]
    if [tuple(w.shape) for w in weights] != shapes:
        raise ValueError(f"the checkpoint in {os.fspath(folder)!r} holds a different network")
    variables = optimizer_variables
    if len(variables) != len(opt) or any(
        tuple(v.shape) != tuple(a.shape) for v, a in zip(variables, opt)
    ):
        raise ValueError(f"the checkpoint in {os.fspath(folder)!r} holds another optimizer's state")
    model.set_weights(weights)
    for v, a in zip(variables, opt):
        v.assign(a)
    return state
