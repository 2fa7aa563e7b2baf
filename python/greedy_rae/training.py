"""The RAE: a merge network with its greedy builder, trainer and file format."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import checkpoint
from greedy_rae.builder import as_sequences, build_trees, check_pairs, resolve_scorer
from greedy_rae.network import merge_network, network_dim
from greedy_rae.replay import Replay, replay_plan
from greedy_rae.tree import Tree

_META = "greedy_rae.json"


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class RAE:
    """Greedy recursive autoencoder.

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; builds :func:`merge_network` ``(dim)``.
    network : keras.Model, optional
        A merge network ``[a, b] -> [h, c, y]`` to use instead.
    pairs : {"all", "adjacent"}
        Candidate pairs at each greedy step (see :func:`greedy_tree`).
    optimizer : keras.optimizers.Optimizer, optional
        Defaults to ``keras.optimizers.Adam()`` with its defaults, as in the post.
    scorer : {"auto", "native", "tf"}
        How trees are built (see :func:`greedy_tree`).
    """

    def __init__(
        self,
        dim: int | None = None,
        *,
        network: keras.Model | None = None,
        pairs: str = "all",
        optimizer: keras.optimizers.Optimizer | None = None,
        scorer: str = "auto",
    ) -> None:
        if network is None:
            if dim is None:
                raise ValueError("give either dim or network")
            network = merge_network(dim)
        elif dim is not None and network_dim(network) != dim:
            raise ValueError(f"dim={dim} but the network takes width {network_dim(network)}")
        self.network = network
        self.dim = network_dim(network)
        self.pairs = check_pairs(pairs)
        resolve_scorer(network, scorer)  # checks the request early
        self.scorer = scorer
        self.optimizer = optimizer if optimizer is not None else keras.optimizers.Adam()
        self._replay = Replay(network, self.dim, self.optimizer)

    # -- trees -------------------------------------------------------------

    def trees(self, sequences: object, batch_size: int = 1024) -> list[Tree]:
        """Greedy trees of a list of ``(n_i, dim)`` arrays, built ``batch_size`` at a time."""
        seqs = as_sequences(sequences, self.dim)
        _check_positive("batch_size", batch_size)
        return self._trees(seqs, batch_size)

    def encode(self, sequences: object, batch_size: int = 1024) -> np.ndarray:
        """Root embeddings, float32 ``(len(sequences), dim)``."""
        return np.stack([t.root for t in self.trees(sequences, batch_size)])

    # -- training ----------------------------------------------------------

    def loss_and_gradients(self, sequences: object) -> tuple[float, list[tf.Tensor]]:
        """Mean root score of the sequences and its gradient, the trees held fixed.

        Returns
        -------
        loss : float
        gradients : list of tf.Tensor
            Aligned with ``self.network.trainable_weights``.
        """
        seqs = as_sequences(sequences, self.dim)
        trees = self._trees(seqs)
        return self._replay.loss_and_gradients(replay_plan(seqs, trees), len(seqs))

    def train_step(self, sequences: object) -> float:
        """One optimizer step on a minibatch; returns its loss before the step."""
        return self._train_step(as_sequences(sequences, self.dim))

    def _train_step(self, seqs: list[np.ndarray]) -> float:
        trees = self._trees(seqs)
        return self._replay.train_step(replay_plan(seqs, trees), len(seqs))

    def evaluate(self, sequences: object) -> float:
        """Mean root score of the sequences under the current weights."""
        return self._mean_score(as_sequences(sequences, self.dim))

    def fit(
        self,
        sequences: object,
        epochs: int = 1,
        batch_size: int = 32,
        verbose: int = 1,
        *,
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
        shuffle : bool
            Shuffle the sequences every epoch.
        seed : int, optional
            Seed of the shuffling.
        validation_data : list of array-like, optional
            Sequences whose mean root score is reported as ``val_loss`` after
            every epoch.
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
            ``"loss"``: per epoch, the mean root score of the epoch's sequences,
            each measured before its minibatch's update; ``"val_loss"`` with
            validation data.
        """
        seqs = as_sequences(sequences, self.dim)
        val = None if validation_data is None else as_sequences(validation_data, self.dim)
        _check_positive("epochs", epochs)
        _check_positive("batch_size", batch_size)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        rng = np.random.default_rng(seed)
        batches = (len(seqs) + batch_size - 1) // batch_size
        history: dict[str, list[float]] = {"loss": []}
        if val is not None:
            history["val_loss"] = []
        run = {
            "sequences": len(seqs),
            "leaves": int(sum(len(x) for x in seqs)),
            "batch_size": int(batch_size),
            "shuffle": bool(shuffle),
            "seed": seed,
            "pairs": self.pairs,
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
                batch = [seqs[i] for i in order[b * batch_size : (b + 1) * batch_size]]
                loss = self._train_step(batch)
                total += loss * len(batch)
                cbs.on_train_batch_end(b, {"loss": total / min(len(seqs), (b + 1) * batch_size)})
            logs: dict[str, float] = {"loss": total / len(seqs)}
            if val is not None:
                logs["val_loss"] = self._mean_score(val)
            for key, logged in logs.items():
                history[key].append(logged)
            if checkpoint_dir is not None:
                self._checkpoint(checkpoint_dir, run, epoch + 1, rng, history)
            cbs.on_epoch_end(epoch, logs)
            if self.network.stop_training:
                break
        cbs.on_train_end({k: v[-1] for k, v in history.items() if v})
        return history

    def _optimizer_variables(self) -> list[Any]:
        if not self.optimizer.built:
            self.optimizer.build(self.network.trainable_weights)
        return list(self.optimizer.variables)

    def _checkpoint(
        self,
        folder: str | os.PathLike[str],
        run: dict[str, Any],
        epoch: int,
        rng: np.random.Generator,
        history: dict[str, list[float]],
    ) -> None:
        weights = self.network.get_weights()
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
        shapes = [tuple(w.shape) for w in self.network.get_weights()]
        if [tuple(w.shape) for w in weights] != shapes:
            raise ValueError(f"the checkpoint in {os.fspath(folder)!r} holds a different network")
        variables = self._optimizer_variables()
        if len(variables) != len(opt) or any(
            tuple(v.shape) != tuple(a.shape) for v, a in zip(variables, opt)
        ):
            raise ValueError(
                f"the checkpoint in {os.fspath(folder)!r} holds another optimizer's state"
            )
        self.network.set_weights(weights)
        for v, a in zip(variables, opt):
            v.assign(a)
        rng.bit_generator.state = state["rng"]
        for key in history:
            history[key].extend(state["history"].get(key, []))
        return int(state["epoch"])

    def _mean_score(self, seqs: list[np.ndarray]) -> float:
        return float(np.mean([t.score for t in self._trees(seqs)]))

    def _trees(self, seqs: list[np.ndarray], batch_size: int = 1024) -> list[Tree]:
        out: list[Tree] = []
        for s in range(0, len(seqs), batch_size):
            out.extend(build_trees(seqs[s : s + batch_size], self.network, self.pairs, self.scorer))
        return out

    # -- files -------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save the merge network and the pair mode to ``.keras`` or ``.h5``.

        The file is written to a temporary name beside ``path`` and renamed
        over it, so an interrupted save never leaves a half-written file.
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
            meta = json.dumps({"pairs": self.pairs, "format": 1})
            if suffix == ".keras":
                with zipfile.ZipFile(tmp, "a") as z:
                    z.writestr(_META, meta)
            else:
                import h5py

                with h5py.File(tmp, "a") as f:
                    f.attrs[_META] = meta
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

        The pair mode comes from the file; a plain Keras file gives ``"all"``.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no model file at {path!r}")
        network = keras.saving.load_model(path, compile=False)
        meta: dict[str, Any] = {}
        if path.endswith(".keras"):
            with zipfile.ZipFile(path) as z:
                if _META in z.namelist():
                    meta = json.loads(z.read(_META))
        else:
            import h5py

            with h5py.File(path, "r") as f:
                if _META in f.attrs:
                    meta = json.loads(f.attrs[_META])
        return cls(
            network=network, pairs=meta.get("pairs", "all"), optimizer=optimizer, scorer=scorer
        )
