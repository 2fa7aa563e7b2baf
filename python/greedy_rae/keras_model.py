"""The whole RAE as a Keras model, for Keras's own callbacks.

``fit`` hands its callbacks this model: its weights are the merge network's
and the head's (``get_weights``/``set_weights``, ``save_weights``/
``load_weights``), ``optimizer`` is the RAE's, ``save`` writes the RAE's own
model file (so a ``ModelCheckpoint`` file loads back with ``RAE.load``), and
``stop_training`` ends ``fit`` after the epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras

if TYPE_CHECKING:
    from greedy_rae.rae import RAE


class RAEModel(keras.Model):  # type: ignore[misc]
    """The merge network and the label head of an :class:`~greedy_rae.RAE`, together."""

    def __init__(self, rae: RAE) -> None:
        super().__init__(name="rae")
        self.network = rae.network
        self.classifier = rae.classifier
        # a text RAE's word table (after the head, so older files' orders hold)
        self.words = None if rae._table is None else rae._table.layer
        self.optimizer = rae.optimizer
        self._rae = rae
        self.built = True

    def call(self, inputs: Any) -> Any:
        raise NotImplementedError("use the RAE's trees, encode or predict")

    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Write the RAE's model file (``.keras`` or ``.h5``), head and options included."""
        self._rae.save(filepath)
