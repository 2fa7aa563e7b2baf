from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

class Forest:
    def __init__(self, lengths: Sequence[int], pairs: str) -> None: ...
    @property
    def trees(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def total_nodes(self) -> int: ...
    def offset(self, tree: int) -> int: ...
    def pending(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def submit(self, errors: npt.ArrayLike) -> None: ...
    def step(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def merges(self, tree: int) -> npt.NDArray[np.int64]: ...
    def scores(self, tree: int) -> npt.NDArray[np.float64]: ...
    def pairs_scored(self, tree: int) -> int: ...

__version__: str

class NonFiniteError(FloatingPointError): ...

def build_native_batch(
    leaves: Sequence[npt.NDArray[np.float32]],
    w1: npt.ArrayLike,
    b1: npt.ArrayLike,
    w2: npt.ArrayLike,
    b2: npt.ArrayLike,
    activation: str,
    normalize: bool,
    decoder_activation: str,
    normalize_reconstruction: bool,
    reconstruction: str,
    pairs: str,
    threads: int = 0,
    progress: Callable[[int], object] | None = None,
) -> list[
    tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float32], int, int]
]: ...
def build_bytes(n: int, dim: int, pairs: str, kind: str) -> int: ...
def build_native_plan(
    leaves: Sequence[npt.NDArray[np.float32]],
    w1: npt.ArrayLike,
    b1: npt.ArrayLike,
    w2: npt.ArrayLike,
    b2: npt.ArrayLike,
    activation: str,
    normalize: bool,
    decoder_activation: str,
    normalize_reconstruction: bool,
    reconstruction: str,
    pairs: str,
    threads: int = 0,
) -> dict[str, npt.NDArray[Any]]: ...
def replay_plan(
    merges: Sequence[npt.NDArray[np.int64]],
    embeddings: Sequence[npt.NDArray[np.float32]],
    weighted: bool,
) -> dict[str, npt.NDArray[Any]]: ...
