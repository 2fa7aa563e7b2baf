"""The model file: the merge network as a Keras file, the options and the head beside it.

``.keras`` files carry the options (``greedy_rae.json``) and the head (a
``.keras`` file of its own) as extra zip entries; ``.h5`` files as an
attribute and a byte dataset. Writes go to a temporary name beside the target
and are renamed over it, so an interrupted save never leaves a half-written file.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import keras
import numpy as np

from greedy_rae._files import user_file_mode
from greedy_rae.network import network_dim

if TYPE_CHECKING:
    from greedy_rae.rae import RAE

_META = "greedy_rae.json"
_HEAD = "greedy_rae_classifier.keras"  # the label head, a .keras file inside the model file
_TABLE = "greedy_rae_embeddings.npy"  # a text RAE's word table, an .npy file inside
# the layout of the options a file carries; a file of a later format is refused.
# 3: a text RAE's vocabulary names its tokeniser (format 2 files were tokenised on
# whitespace, and load so; a reader of format 2 would tokenise a 3 on whitespace)
FORMAT = 3


_T = TypeVar("_T")


class ModelFile(NamedTuple):
    """What a model file holds."""

    network: keras.Model
    meta: dict[str, Any]
    head: bytes | None  # the label head's .keras bytes
    table: np.ndarray | None  # a text RAE's word-embedding table


def save(rae: RAE, path: str | os.PathLike[str]) -> None:
    """Save the merge network, the head and the options to ``.keras`` or ``.h5``.

    The network is the file's Keras model, so ``keras.saving.load_model``
    reads it too; the pair mode, the reconstruction, ``alpha``, the head's
    loss options and the label head (a ``.keras`` file of its own) ride along. The file is
    written to a temporary name beside ``path`` and renamed over it, so an
    interrupted save never leaves a half-written file.
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
        with warnings.catch_warnings():
            # .h5 is the post's format and a documented choice here: Keras's
            # advice to prefer .keras is for its own users, not ours
            warnings.filterwarnings("ignore", message=".*legacy.*", category=UserWarning)
            rae.network.save(tmp, overwrite=True)
        meta = json.dumps({"format": FORMAT, **rae.get_config()})
        head = None if rae.classifier is None else _model_bytes(rae.classifier, folder)
        table = rae.embeddings
        if suffix == ".keras":
            with zipfile.ZipFile(tmp, "a") as z:
                z.writestr(_META, meta)
                if head is not None:
                    z.writestr(_HEAD, head)
                if table is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, table, allow_pickle=False)
                    z.writestr(_TABLE, buffer.getvalue())
        else:
            import h5py

            with h5py.File(tmp, "a") as f:
                f.attrs[_META] = meta
                if head is not None:
                    f.create_dataset(_HEAD, data=np.frombuffer(head, dtype=np.uint8))
                if table is not None:
                    f.create_dataset(_TABLE, data=table)
        os.chmod(tmp, user_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(
    cls: type[RAE],
    path: str | os.PathLike[str],
    *,
    optimizer: keras.optimizers.Optimizer | None = None,
    scorer: str = "auto",
    replay: str = "auto",
) -> RAE:
    """:meth:`RAE.load`: a model file's network, options, head and word table as an RAE."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    suffix = os.path.splitext(path)[1]
    if suffix not in (".keras", ".h5"):
        raise ValueError(f"a model file ends in .keras or .h5, got {path!r}")
    _check_container(path, suffix)
    try:
        network, meta, head, table = _read_model_file(path, suffix)
        classifier = None if head is None else _model_from_bytes(head)
        network_dim(network)
        vocabulary = None
        if "vocabulary" in meta:
            from greedy_rae.text import Vocabulary

            vocabulary = Vocabulary.from_dict(meta["vocabulary"])
            if table is None or table.shape != (len(vocabulary), network_dim(network)):
                raise ValueError("its word table is missing or does not fit its vocabulary")
    except Exception as e:  # zip, HDF5, JSON or Keras errors: one clear message
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ValueError(
            f"cannot load {path!r}: not a readable {suffix} merge network"
            f" ({type(e).__name__}{': ' + reason if reason else ''})"
        ) from None
    written = meta.get("format", FORMAT)  # a plain Keras file carries no options
    if isinstance(written, bool) or not isinstance(written, int) or written > FORMAT:
        raise ValueError(
            f"cannot load {path!r}: it is a model file of format {written!r}, written by a"
            f" later greedy-rae; this one reads formats up to {FORMAT} (upgrade greedy-rae)"
        )
    rae = cls(
        network=network,
        pairs=meta.get("pairs", "all"),
        optimizer=optimizer,
        scorer=scorer,
        replay=replay,
        reconstruction=meta.get("reconstruction", "plain"),
        classes=meta.get("classes"),
        alpha=meta.get("alpha", 0.2),
        head_loss=meta.get("head_loss", "cross_entropy"),
        inner_weight=meta.get("inner_weight", 1.0),
        classifier=classifier,
        vocabulary=vocabulary,
        embeddings=table if vocabulary is not None else None,
        trainable_embeddings=bool(meta.get("trainable_embeddings", True)),
    )
    return rae


def _check_container(path: str, suffix: str) -> None:
    """A ValueError that says what ``path`` is when it is not the zip (``.keras``)
    or HDF5 (``.h5``) file its name promises."""
    with open(path, "rb") as f:
        head = f.read(8)
    if suffix == ".keras" and head.startswith(b"PK\x03\x04"):
        return
    if suffix == ".h5" and head == b"\x89HDF\r\n\x1a\n":
        return
    if not head:
        what = "an empty file"
    elif head[:1] == b"\x80":
        what = "a Python pickle (a pickled estimator loads with pickle.load)"
    elif head == b"\x89HDF\r\n\x1a\n":
        what = "an HDF5 file (rename it to .h5)"
    elif head.startswith(b"PK\x03\x04"):
        what = "a zip archive (rename it to .keras)"
    else:
        what = "neither a zip archive nor an HDF5 file"
    expected = "a zip archive" if suffix == ".keras" else "an HDF5 file"
    raise ValueError(
        f"cannot load {path!r}: not a readable {suffix} merge network: it is {what},"
        f" where RAE.save writes {expected}"
    )


def _read_model_file(path: str, suffix: str) -> ModelFile:
    """The network, the options, the head's bytes and the word table of a model file."""
    network = keras.saving.load_model(path, compile=False)
    meta: dict[str, Any] = {}
    head: bytes | None = None
    table: np.ndarray | None = None
    if suffix == ".keras":
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if _META in names:
                meta = json.loads(z.read(_META))
            if _HEAD in names:
                head = z.read(_HEAD)
            if _TABLE in names:
                table = np.load(io.BytesIO(z.read(_TABLE)), allow_pickle=False)
    else:
        import h5py

        with h5py.File(path, "r") as f:
            if _META in f.attrs:
                meta = json.loads(f.attrs[_META])
            if _HEAD in f:
                head = np.asarray(f[_HEAD]).tobytes()
            if _TABLE in f:
                table = np.asarray(f[_TABLE])
    if not isinstance(meta, dict):
        raise ValueError(f"its {_META} is not a JSON object")
    return ModelFile(network, meta, head, table)


def to_bytes(rae: RAE) -> bytes:
    """The RAE as the bytes of a ``.keras`` model file, the same bytes for the same model.

    Keras stamps each save with its time (``metadata.json``'s ``date_saved``
    and the zip entries' dates) and names shared objects by their memory
    address (``config.json``'s ``shared_object_id``); those are fixed here, so
    two pickles of an unchanged model are equal and hash alike
    (``joblib.hash``, caches), in one process or in two.
    """
    return _canonical_zip(_saved_bytes(lambda path: save(rae, path)))


def from_bytes(cls: type[RAE], data: bytes) -> RAE:
    """:func:`to_bytes`'s inverse."""
    return _loaded(data, lambda path: load(cls, path))


def _canonical_zip(data: bytes) -> bytes:
    """A ``.keras`` file's bytes without its save times, nested ``.keras`` files too."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            content = src.read(info)
            if info.filename == "metadata.json":
                meta = json.loads(content)
                meta.pop("date_saved", None)
                content = json.dumps(meta, sort_keys=True).encode()
            elif info.filename == "config.json":
                content = json.dumps(_numbered(json.loads(content), {})).encode()
            elif info.filename.endswith(".keras"):
                content = _canonical_zip(content)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            dst.writestr(entry, content)
    return out.getvalue()


def _numbered(config: Any, ids: dict[int, int]) -> Any:
    """A Keras config whose ``shared_object_id`` s count 1, 2, ... in order of appearance."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if key == "shared_object_id" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids) + 1)
            else:
                out[key] = _numbered(value, ids)
        return out
    if isinstance(config, list):
        return [_numbered(value, ids) for value in config]
    return config


def _saved_bytes(write: Callable[[str], None], folder: str | None = None) -> bytes:
    """The bytes of the ``.keras`` file that ``write(path)`` writes (to a
    temporary file in ``folder``, removed after)."""
    fd, path = tempfile.mkstemp(suffix=".keras", prefix=".tmp-greedy-rae-", dir=folder)
    os.close(fd)
    try:
        write(path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)


def _loaded(data: bytes, read: Callable[[str], _T]) -> _T:
    """``read(path)`` of a temporary ``.keras`` file holding ``data`` (removed after)."""
    fd, path = tempfile.mkstemp(suffix=".keras", prefix="greedy-rae-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return read(path)
    finally:
        os.remove(path)


def _model_bytes(model: keras.Model, folder: str) -> bytes:
    """A Keras model as the bytes of a ``.keras`` file (written in ``folder``, then removed)."""
    return _saved_bytes(lambda path: model.save(path, overwrite=True), folder)


def _model_from_bytes(data: bytes) -> keras.Model:
    return _loaded(data, lambda path: keras.saving.load_model(path, compile=False))
