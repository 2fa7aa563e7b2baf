"""The whole RAE as a Keras model, for Keras's own callbacks.

``fit`` hands its callbacks this model: its weights are the merge network's
and the head's (``get_weights``/``set_weights``, ``save_weights``/
``load_weights``), ``optimizer`` is the RAE's, ``save`` writes the RAE's own
model file (so a ``ModelCheckpoint`` file loads back with ``RAE.load``), and
``stop_training`` ends ``fit`` after the epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras


class RAEModel(keras.Model):  # type: ignore[misc]
    """The merge network, the label head and a text RAE's word table, together."""

    def __init__(
        self,
        network: keras.Model,
        classifier: keras.Model | None,
        words: keras.layers.Layer | None,
        optimizer: keras.optimizers.Optimizer,
        save: Callable[[Any], None],
    ) -> None:
        super().__init__(name="rae")
        self.network = network
        self.classifier = classifier
        self.words = words  # after the head: the weights' order of a checkpoint
        self.optimizer = optimizer
        self._save = save
        self.built = True

    def call(self, inputs: Any) -> Any:
        raise NotImplementedError("use the RAE's trees, encode or predict")

    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Write the RAE's model file (``.keras`` or ``.h5``), head and options included."""
        self._save(filepath)
