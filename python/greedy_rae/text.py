"""Text: a vocabulary, token ids, pretrained word vectors (no TensorFlow here).

A text sequence is a string, a list of tokens, or a 1-D integer array of ids.
The default tokeniser, :func:`words`, cuts a text into words (runs of letters,
digits and ``_``) and runs of other characters (punctuation), each a token of
its own: ``"Great car!!"`` is ``["Great", "car", "!!"]``, so that ``car`` and
``car!!`` share a row while ``!!``, which carries sentiment, keeps one.
``tokenizer="whitespace"`` splits on whitespace alone (for text tokenised
already); ``lower=True`` lower-cases; ``tokenizer=`` also takes any callable
from a string to a list of tokens.

Row 0 of every vocabulary is the out-of-vocabulary token ``<unk>``: every
unknown token maps to it, and :attr:`Vocabulary.unknown` counts how many did.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from greedy_rae import _options

UNKNOWN = "<unk>"
log = logging.getLogger("greedy_rae")
Tokenizer = Callable[[str], Sequence[str]]


def whitespace(text: str) -> list[str]:
    """The tokeniser ``"whitespace"``: ``text.split()``."""
    return text.split()


_WORDS = re.compile(r"\w+|[^\w\s]+")


def words(text: str) -> list[str]:
    """The default tokeniser, ``"words"``: runs of letters, digits and ``_``, and
    runs of other non-space characters, in order (``"don't!"``: ``don ' t !``)."""
    return _WORDS.findall(text)


# the tokenisers a model file can name (the default: _options.TOKENIZER)
TOKENIZERS: dict[str, Tokenizer] = {"words": words, "whitespace": whitespace}


def _tokenizer(tokenizer: object) -> tuple[str | None, Tokenizer]:
    """A tokeniser's name (None for a callable of one's own) and the function."""
    if tokenizer is None:
        tokenizer = _options.TOKENIZER
    if isinstance(tokenizer, str):
        if tokenizer not in TOKENIZERS:
            raise ValueError(
                f"tokenizer must be {' or '.join(map(repr, TOKENIZERS))} or a callable,"
                f" got {tokenizer!r}"
            )
        return tokenizer, TOKENIZERS[tokenizer]
    if not callable(tokenizer):
        raise TypeError(
            f"tokenizer must be a name or a callable from a string to tokens, got"
            f" {type(tokenizer).__name__}"
        )
    return None, tokenizer


class Vocabulary:
    """Words and their rows in an embedding table; row 0 is ``<unk>``.

    Parameters
    ----------
    words : sequence of str
        The known words, in row order from row 1 (``<unk>`` is added as row 0
        unless ``words[0]`` is ``<unk>`` already).
    lower : bool
        Lower-case texts and tokens before looking them up.
    tokenizer : {"words", "whitespace"} or callable, optional
        From a string to its tokens: :func:`words` (default), :func:`whitespace`,
        or a callable of your own (not kept in model files: a loaded model
        splits strings on whitespace until its ``vocabulary.tokenizer`` is set
        again).
    """

    def __init__(
        self,
        words: Iterable[str],
        *,
        lower: bool = False,
        tokenizer: str | Tokenizer | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        words = list(words)
        if words and words[0] == UNKNOWN:
            words = words[1:]
        bad = [w for w in words if not isinstance(w, str) or not w or w == UNKNOWN]
        if bad:
            raise ValueError(
                f"vocabulary words must be non-empty strings other than {UNKNOWN!r}, got {bad[0]!r}"
            )
        self.words: list[str] = [UNKNOWN, *words]
        self.index: dict[str, int] = {}
        for i, w in enumerate(self.words):
            if w in self.index:
                raise ValueError(f"vocabulary word {w!r} appears twice")
            self.index[w] = i
        self.lower = bool(lower)
        self.unknown = 0  # unknown tokens met by ids() since the last reset

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str | Sequence[str]],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        lower: bool = False,
        tokenizer: str | Tokenizer | None = None,
    ) -> Vocabulary:
        """The words of ``texts`` seen at least ``min_count`` times, most frequent
        first (ties in order of first appearance), at most ``max_size`` of them
        (``<unk>`` not counted)."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
        ):
            raise ValueError(f"max_size must be a positive integer or None, got {max_size!r}")
        probe = cls([], lower=lower, tokenizer=tokenizer)
        counts: Counter[str] = Counter()
        for i, text in enumerate(_texts(texts)):
            counts.update(probe.tokens(text, f"text {i}"))
        counts.pop(UNKNOWN, None)
        # Counter.most_common keeps first-seen order among equal counts
        words = [w for w, c in counts.most_common() if c >= min_count]
        if max_size is not None:
            words = words[:max_size]
        return cls(words, lower=lower, tokenizer=tokenizer)

    @property
    def tokenizer(self) -> str | Tokenizer:
        """The tokeniser: a name of :data:`TOKENIZERS` or a callable (settable)."""
        return self.tokenizer_name or self._tokenize

    @tokenizer.setter
    def tokenizer(self, tokenizer: str | Tokenizer | None) -> None:
        self.tokenizer_name, self._tokenize = _tokenizer(tokenizer)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._key(word) in self.index

    def __repr__(self) -> str:
        tokens = self.tokenizer_name or "a callable"
        return f"Vocabulary({len(self)} rows, lower={self.lower}, tokenizer={tokens})"

    def _key(self, token: str) -> str:
        return token.lower() if self.lower else token

    def tokens(self, text: str | Sequence[str], what: str = "text") -> list[str]:
        """A text's tokens (a list of tokens passes through, lower-cased if asked)."""
        if isinstance(text, str):
            tokens = list(self._tokenize(text))
        elif isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
            tokens = list(text)
        else:
            raise TypeError(
                f"{what} must be a string, a list of tokens or a 1-D array of ids,"
                f" got {type(text).__name__}"
            )
        return [self._key(t) for t in tokens]

    def ids(self, text: str | Sequence[str] | np.ndarray, what: str = "text") -> np.ndarray:
        """A text's rows, int32; unknown tokens get row 0 (counted in ``unknown``)."""
        if isinstance(text, np.ndarray) and text.dtype != object:
            ids = text
            if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
                raise TypeError(
                    f"{what} must be a string, a list of tokens or a 1-D integer array of ids,"
                    f" got a {ids.ndim}-D {ids.dtype} array"
                )
            if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
                raise ValueError(f"{what}: ids must be in 0..{len(self) - 1}")
        else:
            tokens = self.tokens(list(text) if isinstance(text, np.ndarray) else text, what)
            ids = np.fromiter((self.index.get(t, 0) for t in tokens), np.int64, len(tokens))
            self.unknown += int(np.count_nonzero(ids == 0)) - tokens.count(UNKNOWN)
        if len(ids) == 0:
            raise ValueError(f"{what} has no tokens: a tree needs at least one")
        return np.ascontiguousarray(ids, dtype=np.int32)

    def words_of(self, ids: np.ndarray) -> list[str]:
        """The words at rows ``ids``."""
        return [self.words[int(i)] for i in ids]

    def to_dict(self) -> dict[str, Any]:
        """What the model file keeps (a tokeniser of one's own is not kept: None)."""
        return {"words": self.words, "lower": self.lower, "tokenizer": self.tokenizer_name}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        # files from before the key were tokenised on whitespace; a tokeniser of
        # one's own (None) is not in the file: strings split on whitespace until
        # the loaded vocabulary's tokenizer is set again
        name = data.get("tokenizer") or "whitespace"
        return cls(data["words"], lower=bool(data.get("lower", False)), tokenizer=name)


def _texts(texts: object) -> list[Any]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a list of texts, got {type(texts).__name__}")
    out = list(texts)
    if not out:
        raise ValueError("texts is empty: give at least one text")
    return out


def as_token_ids(
    sequences: object, vocabulary: Vocabulary, name: str = "sequences"
) -> list[np.ndarray]:
    """Texts (strings, token lists or 1-D id arrays) as checked int32 id arrays."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1 and sequences.dtype != object:
        raise ValueError(f"{name} must be a list of texts; for one text pass [text]")
    before = vocabulary.unknown
    ids = [vocabulary.ids(s, f"{name}: text {i}") for i, s in enumerate(_texts(sequences))]
    unknown = vocabulary.unknown - before
    if unknown:
        total = sum(len(x) for x in ids)
        log.info("%s: %d of %d tokens are not in the vocabulary (<unk>)", name, unknown, total)
    return ids


def load_word_vectors(
    path: str | os.PathLike[str], encoding: str = "utf-8"
) -> tuple[list[str], np.ndarray]:
    """Word vectors in word2vec's text or binary format: ``(words, (len(words), dim) float32)``.

    The text format's first line is ``count dim`` (fastText's ``.vec`` too), then
    one ``word v1 ... vdim`` a line; the binary one has the same header, then
    each word, a space and ``dim`` little-endian float32 values; words are
    decoded as ``encoding``. Raises ``ValueError`` naming the file when it is
    neither.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"no word vectors file at {path!r}")
    with open(path, "rb") as f:
        header = f.readline().split()
        try:
            count, dim = int(header[0]), int(header[1])
            if count < 0 or dim < 1 or len(header) != 2:
                raise ValueError
        except (ValueError, IndexError):
            raise ValueError(
                f"{path!r} is not a word2vec file: its first line must be 'count dim'"
            ) from None
        rest = f.read()
    try:
        return _read_text(rest, count, dim, encoding)
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        return _read_binary(rest, count, dim, encoding)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path!r} is not a word2vec text or binary file: {e}") from None


def _read_text(data: bytes, count: int, dim: int, encoding: str) -> tuple[list[str], np.ndarray]:
    lines = data.decode(encoding).splitlines()
    lines = [line for line in lines if line.strip()]
    if len(lines) != count:
        raise ValueError(f"{len(lines)} vectors, the header says {count}")
    words, rows = [], np.zeros((count, dim), np.float32)
    for k, line in enumerate(lines):
        parts = line.rstrip().split(" ")
        if len(parts) != dim + 1:
            raise ValueError(f"line {k + 2} has {len(parts) - 1} values, not {dim}")
        words.append(parts[0])
        rows[k] = np.asarray(parts[1:], dtype=np.float32)
    return words, rows


def _read_binary(data: bytes, count: int, dim: int, encoding: str) -> tuple[list[str], np.ndarray]:
    words, rows, at = [], np.zeros((count, dim), np.float32), 0
    for k in range(count):
        space = data.index(b" ", at)
        words.append(data[at:space].decode(encoding).strip())
        start = space + 1
        end = start + 4 * dim
        if end > len(data):
            raise ValueError(f"vector {k} is cut short")
        rows[k] = np.frombuffer(data[start:end], dtype="<f4")
        at = end
    return words, rows


def initial_table(
    vocabulary: Vocabulary,
    dim: int,
    embeddings: object = None,
    seed: int | None = None,
) -> tuple[np.ndarray, int]:
    """The embedding table's first values, ``(len(vocabulary), dim)`` float32,
    and how many rows came from ``embeddings``.

    Rows start small and random (``0.001 * normal``, as Socher et al.'s code),
    drawn from ``seed``, or else from numpy's global generator (which
    ``keras.utils.set_random_seed`` seeds).
    ``embeddings`` overrides them: a ``(len(vocabulary), dim)`` array in row
    order; a mapping from words to vectors, or a ``(words, vectors)`` pair as
    :func:`load_word_vectors` returns, or a gensim ``KeyedVectors`` (its
    ``index_to_key`` and ``vectors``): words without a vector keep their
    random start.
    """
    if seed is None:
        seed = int(np.random.randint(2**31 - 1))
    rng = np.random.default_rng(seed)
    table = (0.001 * rng.standard_normal((len(vocabulary), dim))).astype(np.float32)
    if embeddings is None:
        return table, 0
    if isinstance(embeddings, str):
        raise ValueError(
            f"embeddings must be word vectors, got the string {embeddings!r}; for the texts'"
            " own vectors give those of greedy_rae.text.cooccurrence_vectors(texts,"
            " vocabulary, dim) (the estimators take embeddings='cooccurrence')"
        )
    if hasattr(embeddings, "index_to_key") and hasattr(embeddings, "vectors"):
        embeddings = (list(embeddings.index_to_key), np.asarray(embeddings.vectors))
    if isinstance(embeddings, tuple) and len(embeddings) == 2:
        embeddings = dict(zip(embeddings[0], np.asarray(embeddings[1])))
    if isinstance(embeddings, Mapping):
        found = 0
        for word, vector in embeddings.items():
            v = np.asarray(vector, dtype=np.float64)
            if v.shape != (dim,):
                raise ValueError(
                    f"embeddings: the vector of {word!r} has shape {v.shape}, expected ({dim},)"
                )
            key = vocabulary._key(word) if isinstance(word, str) else word
            row = vocabulary.index.get(key)
            if row is not None and row != 0:
                table[row] = v
                found += 1
        _check_table(table, "embeddings")
        return table, found
    matrix = np.asarray(embeddings)
    if matrix.shape != (len(vocabulary), dim):
        raise ValueError(
            f"embeddings must be a ({len(vocabulary)}, {dim}) array (a row per vocabulary"
            f" word, <unk> first), a mapping from words to vectors or word vectors;"
            f" got shape {matrix.shape}"
        )
    table = np.array(matrix, dtype=np.float32)
    _check_table(table, "embeddings")
    return table, len(vocabulary)


def cooccurrence_vectors(
    texts: object,
    vocabulary: Vocabulary,
    dim: int,
    *,
    window: int = 2,
    seed: int | None = None,
) -> np.ndarray:
    """Word vectors from the texts themselves: a table start, ``(len(vocabulary),
    dim)`` float32, for ``RAE(vocabulary=..., embeddings=...)``.

    Count how often each pair of words occurs at most ``window`` tokens apart,
    weight the counts by positive pointwise mutual information (contexts
    smoothed to the power 0.75), and keep the first ``dim`` singular directions,
    each word's row ``U sqrt(S)`` scaled to unit length (the SVD vectors of Levy,
    Goldberg and Dagan, TACL 2015). ``<unk>`` and words that never meet
    another keep the random start of :func:`initial_table` (drawn from ``seed``,
    which also starts the solver; None: numpy's global generator). Needs scipy.
    """
    try:
        import scipy.sparse as sparse
        from scipy.sparse.linalg import svds
    except ImportError:  # pragma: no cover - the message is the point
        raise ImportError("cooccurrence_vectors needs scipy: pip install scipy") from None
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"vocabulary must be a Vocabulary, got {type(vocabulary).__name__}")
    dim = _options.check_positive("dim", dim)
    window = _options.check_positive("window", window)
    if seed is None:
        seed = int(np.random.randint(2**31 - 1))
    table, _ = initial_table(vocabulary, dim, seed=seed)
    size = len(vocabulary)
    rows, cols = [], []
    for ids in as_token_ids(texts, vocabulary, "texts"):
        ids = ids.astype(np.int64)
        for shift in range(1, min(window, len(ids) - 1) + 1):
            rows += [ids[:-shift], ids[shift:]]
            cols += [ids[shift:], ids[:-shift]]
    if not rows:
        return table  # no text has two tokens
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(size, size))
    counts.sum_duplicates()
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    context *= total / context.sum()
    pairs = counts.tocoo()
    pmi = np.log(pairs.data * total / (word[pairs.row] * context[pairs.col]))
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (pairs.row[keep], pairs.col[keep])), shape=(size, size))
    if size <= max(500, dim + 2):  # small: the whole decomposition
        u, s, _ = np.linalg.svd(ppmi.toarray())
        u, s = u[:, :dim], s[:dim]
    else:
        start = np.random.default_rng(seed).uniform(-1.0, 1.0, size)
        u, s, _ = svds(ppmi, k=dim, v0=start)
    vectors = np.zeros((size, dim))
    vectors[:, : len(s)] = u * np.sqrt(s)
    norms = np.linalg.norm(vectors, axis=1)
    found = norms > 1e-12
    found[0] = False  # <unk> keeps its random start
    table[found] = (vectors[found] / norms[found, None]).astype(np.float32)
    return table


def _check_table(table: np.ndarray, what: str) -> None:
    if not np.isfinite(table).all():
        r, c = np.argwhere(~np.isfinite(table))[0]
        raise ValueError(f"{what} contain NaN or inf (first at row {r}, column {c})")


LABEL_PREFIX = "__label__"


def read_lines(
    path: str | os.PathLike[str], encoding: str = "utf-8"
) -> tuple[list[str], list[str | None]]:
    """The texts of a file, one a line, and each line's label: a fastText-style
    ``__label__X`` prefix gives ``X`` (and is cut from the text), else None.
    An empty line (or one holding only a label), or a line that is not text in
    ``encoding``, raises ``ValueError`` naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"no text file at {path!r}")
    with open(path, "rb") as f:
        raw = f.read().splitlines()
    texts: list[str] = []
    labels: list[str | None] = []
    for k, data in enumerate(raw, start=1):
        try:
            line = data.decode(encoding)
        except UnicodeDecodeError:
            raise ValueError(
                f"{path}: line {k} is not {encoding} text (give its encoding, e.g. latin-1)"
            ) from None
        words = line.split()
        label = None
        if words and words[0].startswith(LABEL_PREFIX):
            label = words[0][len(LABEL_PREFIX) :]
            line = line.split(None, 1)[1] if len(words) > 1 else ""
        if not line.strip():
            raise ValueError(f"{path}: line {k} has no text")
        texts.append(line.strip())
        labels.append(label)
    if not texts:
        raise ValueError(f"{path} holds no texts")
    return texts, labels
