"""Text: vocabulary, token ids, a trainable word table, trained end to end.

The table's gradients are checked against a tape over a plain TensorFlow
reference written here: each sentence's leaves gathered from a copy of the
table, its nodes recomputed from the tree's merges with the Keras network, and
the loss (root score, or the head's mix) differentiated with respect to the
table and the weights.
"""

import json
import os

import greedy_rae as gr
import keras
import numpy as np
import pytest
import tensorflow as tf
from greedy_rae.text import UNKNOWN, Vocabulary, load_word_vectors, words
from text_data import TEXTS

LABELS = np.array([1, 0, 1, 0, 1])


def fresh(**options):
    keras.utils.set_random_seed(0)
    vocab = Vocabulary.from_texts(TEXTS)
    return gr.RAE(6, vocabulary=vocab, **options)


def reference_loss(rae, texts, labels, table):
    """The minibatch loss from its definition, the trees held fixed, on ``table``."""
    trees = rae.trees(texts)
    total = 0.0
    for k, (text, tree) in enumerate(zip(texts, trees)):
        ids = rae.vocabulary.ids(text)
        nodes = [tf.gather(table, ids[i]) for i in range(len(ids))]
        count = [1] * len(ids)
        score = 0.0
        for a, b in tree.merges:
            h, c, y = rae.network([nodes[a][None], nodes[b][None]])
            if rae.reconstruction == "weighted":
                d = rae.dim
                e1 = 0.5 * tf.reduce_sum(tf.square(y[0, :d] - c[0, :d]))
                e2 = 0.5 * tf.reduce_sum(tf.square(y[0, d:] - c[0, d:]))
                n1, n2 = count[a], count[b]
                score += (n1 * e1 + n2 * e2) / (n1 + n2)
            else:
                score += 0.5 * tf.reduce_sum(tf.square(y - c))
            nodes.append(h[0])
            count.append(count[a] + count[b])
        if rae.classifier is None:
            total += score
            continue
        ce = 0.0
        if labels is not None and labels[k] >= 0:
            probs = rae.classifier(tf.stack(nodes))
            ce = -tf.reduce_sum(tf.math.log(tf.clip_by_value(probs[:, labels[k]], 1e-7, 1.0)))
        total += rae.alpha * score + (1 - rae.alpha) * ce
    return total / len(texts)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"pairs": "adjacent", "activation": "tanh", "normalize": True},
        {"activation": "tanh", "normalize": True, "reconstruction": "weighted", "classes": 2},
    ],
)
def test_table_gradients_match_a_tape_over_the_reference(options):
    rae = fresh(**options)
    labels = LABELS if "classes" in options else None
    loss, grads = rae.loss_and_gradients(TEXTS, labels)
    table = tf.Variable(rae.embeddings)
    weights = rae.trainable_weights[:-1]
    with tf.GradientTape() as tape:
        want = reference_loss(rae, TEXTS, labels, table)
    *want_weights, want_table = tape.gradient(want, [*weights, table])
    assert loss == pytest.approx(float(want), rel=1e-5)
    for g, w in zip(grads[:-1], want_weights):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=1e-6)
    got_table = np.asarray(tf.convert_to_tensor(grads[-1]))  # sparse rows, summed
    want_table = np.asarray(tf.convert_to_tensor(want_table))
    np.testing.assert_allclose(got_table, want_table, rtol=2e-4, atol=1e-7)
    # the rows of words seen twice got both gradients; unused rows got none
    film = rae.vocabulary.index["film"]
    assert np.abs(want_table[film]).sum() > 0
    unused = rae.vocabulary.index[UNKNOWN]
    assert not got_table[unused].any()


@pytest.mark.parametrize("pairs", ["adjacent", "all"])
def test_trees_are_those_of_the_gathered_vectors(pairs):
    rae = fresh(activation="tanh", normalize=True, pairs=pairs)
    table = rae.embeddings
    for scorer in ("native", "tf"):
        for text, tree in zip(TEXTS, gr.RAE.trees(rae, TEXTS)):
            ids = rae.vocabulary.ids(text)
            alone = gr.greedy_tree(table[ids], rae.network, pairs, scorer=scorer)
            np.testing.assert_array_equal(tree.merges, alone.merges)
            np.testing.assert_allclose(tree.embeddings, alone.embeddings, rtol=1e-6, atol=1e-7)
    tree = rae.trees(["a gripping , moving film"])[0]
    assert tree.labels == ["a", "gripping", ",", "moving", "film"]
    assert "gripping" in str(tree) and "gripping" in tree.to_newick()


@pytest.mark.parametrize("replay", ["numpy", "graph"])
def test_a_step_moves_only_the_rows_used_by_lazy_adam(replay):
    # the lazy Adam is written twice (TensorFlow for the graph replay, numpy for the
    # numpy replay): both against the formula
    rae = fresh(optimizer=keras.optimizers.Adam(0.01), replay=replay)
    before = rae.embeddings
    _, grads = rae.loss_and_gradients(["dull film film"])
    g = np.asarray(tf.convert_to_tensor(grads[-1]))
    rae.train_step(["dull film film"])
    after = rae.embeddings
    used = sorted(rae.vocabulary.index[w] for w in ("dull", "film"))
    assert sorted(np.nonzero(np.any(after != before, axis=1))[0]) == used
    # Keras's Adam, first step, on those rows alone:
    # lr * sqrt(1 - beta_2) / (1 - beta_1) * m / (sqrt(v) + epsilon)
    for row in used:
        m, v = 0.1 * g[row], 0.001 * g[row] ** 2
        step = 0.01 * np.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(after[row], before[row] - step, rtol=1e-4, atol=1e-7)


def test_frozen_table_and_pretrained_start(tmp_path):
    vocab = Vocabulary.from_texts(TEXTS)
    vectors = {"film": np.full(6, 0.5), "dull": np.full(6, -0.25), "unseen": np.ones(6)}
    keras.utils.set_random_seed(0)
    rae = gr.RAE(6, vocabulary=vocab, embeddings=vectors, trainable_embeddings=False)
    table = rae.embeddings
    np.testing.assert_array_equal(table[vocab.index["film"]], np.full(6, 0.5, np.float32))
    others = np.delete(table, [vocab.index["film"], vocab.index["dull"]], axis=0)
    assert np.abs(others).max() < 0.01  # small and random, as Socher et al.'s start
    rae.fit(TEXTS, epochs=2, verbose=0)
    np.testing.assert_array_equal(rae.embeddings, table)
    assert len(rae.trainable_weights) == len(rae.network.trainable_weights)
    with pytest.raises(ValueError, match=r"\(11, 6\) array"):
        gr.RAE(6, vocabulary=vocab, embeddings=np.zeros((3, 6)))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_save_load_round_trip_predicts_the_same(tmp_path, suffix):
    rae = fresh(activation="tanh", normalize=True, classes=2)
    rae.fit(TEXTS, labels=LABELS, epochs=3, verbose=0)
    path = tmp_path / f"text{suffix}"
    rae.save(path)
    back = gr.RAE.load(path)
    assert back.vocabulary.words == rae.vocabulary.words
    np.testing.assert_array_equal(back.embeddings, rae.embeddings)
    np.testing.assert_array_equal(back.predict_proba(TEXTS), rae.predict_proba(TEXTS))
    assert back.trees(TEXTS[:1])[0].labels == rae.trees(TEXTS[:1])[0].labels


def test_resume_equals_uninterrupted(tmp_path):
    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    args = dict(labels=LABELS, epochs=4, batch_size=2, verbose=0, seed=3)
    straight = fresh(classes=2)
    straight.fit(TEXTS, **args)
    resumed = fresh(classes=2)
    with pytest.raises(KeyboardInterrupt):
        resumed.fit(TEXTS, checkpoint_dir=tmp_path, callbacks=[Stop()], **args)
    resumed = fresh(classes=2)
    resumed.fit(TEXTS, checkpoint_dir=tmp_path, **args)
    np.testing.assert_array_equal(resumed.embeddings, straight.embeddings)
    for a, b in zip(resumed.trainable_weights, straight.trainable_weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_vocabulary():
    vocab = Vocabulary.from_texts(["b a a", "c a b", "A"], min_count=2)
    assert vocab.words == [UNKNOWN, "a", "b"]  # most frequent first; c and A too rare
    np.testing.assert_array_equal(vocab.ids("a c b"), [1, 0, 2])
    assert vocab.unknown == 1
    np.testing.assert_array_equal(vocab.ids(["b", "b"]), [2, 2])
    np.testing.assert_array_equal(vocab.ids(np.array([2, 0])), [2, 0])
    lower = Vocabulary.from_texts(["B a", "b A!"], lower=True, max_size=2)
    assert lower.words == [UNKNOWN, "b", "a"]
    chars = Vocabulary.from_texts(["ab"], tokenizer=list)
    assert chars.words == [UNKNOWN, "a", "b"]
    with pytest.raises(ValueError, match="no tokens"):
        vocab.ids("   ")
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.from_texts(["a"], min_count=0)
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match=r"ids must be in 0\.\.2"):
        vocab.ids(np.array([5]))


def test_default_tokeniser_cuts_words_from_punctuation():
    # the tokens written out by hand
    text = "Great car!! Don't :-) x_1 été"
    expected = ["Great", "car", "!!", "Don", "'", "t", ":-)", "x_1", "été"]
    assert words(text) == expected
    assert Vocabulary([]).tokens(text) == expected
    assert Vocabulary([], tokenizer="whitespace").tokens(text) == text.split()
    assert Vocabulary([], lower=True).tokens("Car!") == ["car", "!"]
    vocab = Vocabulary.from_texts(["car!", "car .", "a car"])
    assert vocab.words == [UNKNOWN, "car", "!", ".", "a"]  # car!, car and car share a row
    np.testing.assert_array_equal(vocab.ids("a car!"), [4, 1, 2])
    assert "tokenizer=words" in repr(vocab)
    with pytest.raises(ValueError, match="tokenizer must be 'words' or 'whitespace'.*'spaces'"):
        Vocabulary([], tokenizer="spaces")
    with pytest.raises(TypeError, match="tokenizer must be a name or a callable.*int"):
        Vocabulary([], tokenizer=3)


def test_model_files_keep_the_tokeniser(tmp_path):
    for name, tokens in [("words", ["a", "car", "!"]), ("whitespace", ["a", "car!"])]:
        keras.utils.set_random_seed(0)
        rae = gr.RAE(4, vocabulary=Vocabulary(["a", "car", "!", "car!"], tokenizer=name))
        rae.save(tmp_path / f"{name}.keras")
        back = gr.RAE.load(tmp_path / f"{name}.keras")
        assert back.vocabulary.tokenizer == name
        assert back.vocabulary.words_of(back.vocabulary.ids("a car!")) == tokens
    # a file written before the tokeniser was kept (format 2) was tokenised on
    # whitespace: this one, rewritten as such a file, loads so
    import h5py

    keras.utils.set_random_seed(0)
    path = tmp_path / "format2.h5"
    gr.RAE(4, vocabulary=Vocabulary(["a", "car!"])).save(path)
    with h5py.File(path, "a") as f:
        meta = json.loads(f.attrs["greedy_rae.json"])
        assert meta["format"] == 3 and meta["vocabulary"].pop("tokenizer") == "words"
        f.attrs["greedy_rae.json"] = json.dumps({**meta, "format": 2})
    old = gr.RAE.load(path).vocabulary
    assert old.tokenizer == "whitespace" and old.words_of(old.ids("a car!")) == ["a", "car!"]
    # a tokeniser of one's own is code: not in the file, strings split on whitespace
    own = Vocabulary(["a|b"], tokenizer=lambda t: t.split("|"))
    assert own.to_dict()["tokenizer"] is None
    back = Vocabulary.from_dict(own.to_dict())
    assert back.tokens("a|b c") == ["a|b", "c"]
    back.tokenizer = lambda t: t.split("|")
    assert back.tokens("a|b c") == ["a", "b c"]


def test_bad_text_input():
    rae = fresh()
    with pytest.raises(ValueError, match="sequences: text 1 has no tokens"):
        rae.encode(["a film", ""])
    with pytest.raises(ValueError, match="validation_data: text 0 has no tokens"):
        rae.fit(TEXTS, validation_data=[" "])
    with pytest.raises(TypeError, match="sequences: text 0 must be a string.*2-D float64"):
        rae.encode([np.zeros((3, 6))])
    with pytest.raises(TypeError, match="texts must be a list"):
        rae.encode("a film")
    with pytest.raises(ValueError, match="embeddings need a vocabulary"):
        gr.RAE(6, embeddings=np.zeros((3, 6)))


def test_load_word_vectors_text_and_binary(tmp_path):
    words = ["film", "dull", "naïve"]
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    text = tmp_path / "v.vec"
    with open(text, "w", encoding="utf-8") as f:
        f.write("3 4\n")
        for w, v in zip(words, vectors):
            f.write(w + " " + " ".join(repr(float(x)) for x in v) + "\n")
    binary = tmp_path / "v.bin"
    with open(binary, "wb") as f:
        f.write(b"3 4\n")
        for w, v in zip(words, vectors):
            f.write(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n")
    for path in (text, binary):
        got_words, got = load_word_vectors(path)
        assert got_words == words
        np.testing.assert_array_equal(got, vectors)
    bad = tmp_path / "bad.vec"
    bad.write_text("not a header\n")
    with pytest.raises(ValueError, match="bad.vec.*first line"):
        load_word_vectors(bad)
    with pytest.raises(ValueError, match="no word vectors file"):
        load_word_vectors(os.fspath(tmp_path / "missing.vec"))
    # as a pretrained start: a (words, vectors) pair of the wrong width is refused
    vocab = Vocabulary.from_texts(["film dull"])
    with pytest.raises(ValueError, match=r"shape \(4,\), expected \(6,\)"):
        gr.RAE(6, vocabulary=vocab, embeddings=load_word_vectors(text))
    rae = gr.RAE(4, vocabulary=vocab, embeddings=load_word_vectors(text))
    np.testing.assert_array_equal(rae.embeddings[vocab.index["dull"]], vectors[1])


def test_tree_exports_escape_words():
    import nltk

    rae = fresh()
    vocab = Vocabulary(["(", ")", "it's", 'say "hi"'], tokenizer=lambda t: t.split("|"))
    keras.utils.set_random_seed(0)
    rae = gr.RAE(4, vocabulary=vocab)
    tree = rae.trees(['(|it\'s|say "hi"|)'])[0]
    assert tree.labels == ["(", "it's", 'say "hi"', ")"]
    parsed = nltk.Tree.fromstring(tree.to_bracket())
    assert parsed.leaves() == ["-LRB-", "it's", 'say_"hi"', "-RRB-"] or sorted(
        parsed.leaves()
    ) == sorted(["-LRB-", "it's", 'say_"hi"', "-RRB-"])
    newick = tree.to_newick()
    assert "'it''s'" in newick and "'('" in newick
    assert '"say \\"hi\\""' in tree.to_dot()


def test_command_line_on_text(tmp_path, capsys):
    from greedy_rae.cli import main

    corpus = tmp_path / "train.txt"
    corpus.write_text(
        "".join(f"__label__{'pos' if y else 'neg'} {t}\n" for t, y in zip(TEXTS, LABELS))
    )
    vectors = tmp_path / "v.vec"
    vectors.write_text("2 4\nfilm 1 0 0 0\ndull 0 1 0 0\n")
    model = tmp_path / "m.keras"
    args = ["fit", str(corpus), "--text", "-o", str(model), "--epochs", "2", "--min-count", "2"]
    assert main([*args, "--embeddings", str(vectors), "--pairs", "adjacent"]) == 0
    assert "classes: 0 = neg, 1 = pos" in capsys.readouterr().out
    rae = gr.RAE.load(model)
    # words seen twice or more, most frequent first (film 5, dull 3, then the
    # twice-seen ones as they first appear), <unk> first; the vectors' width is the dim
    assert rae.vocabulary.words == [UNKNOWN, "film", "dull", "a", "gripping", ",", "moving"]
    assert rae.dim == 4 and rae.classes == 2
    assert main(["encode", str(model), str(corpus), "-o", str(tmp_path / "f.npy")]) == 0
    assert np.load(tmp_path / "f.npy").shape == (len(TEXTS), 4)
    assert main(["tree", str(model), str(corpus), "--index", "3", "--format", "newick"]) == 0
    assert "dull" in capsys.readouterr().out
    # labels from a file of names instead of prefixes
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(TEXTS) + "\n")
    names = tmp_path / "names.txt"
    names.write_text("\n".join("x" if y else "y" for y in LABELS) + "\n")
    assert main(["fit", str(plain), "--text", "-o", str(model), "--labels", str(names)]) == 0
    assert gr.RAE.load(model).vocabulary.tokenizer == "words"
    assert main([*args, "--tokenizer", "whitespace"]) == 0
    assert gr.RAE.load(model).vocabulary.tokenizer == "whitespace"
    # the table started from the texts' own vectors (a step too small to move it)
    from greedy_rae.text import cooccurrence_vectors

    still = ["--learning-rate", "1e-12", "--dim", "4", "--seed", "3"]
    assert main(["fit", str(plain), "--text", "-o", str(model), "--cooccurrence", *still]) == 0
    loaded = gr.RAE.load(model)
    expected = cooccurrence_vectors(TEXTS, loaded.vocabulary, 4, seed=3)
    np.testing.assert_allclose(loaded.embeddings, expected, atol=1e-6)
    # bad input: exit 2 and one line
    empty = tmp_path / "empty.txt"
    empty.write_text("a film\n\nanother\n")
    short = tmp_path / "short.txt"
    short.write_text("x\n")
    wide = ["--embeddings", str(vectors), "--dim", "6"]
    for argv, message in [
        (["fit", str(empty), "--text", "-o", str(model)], "line 2 has no text"),
        (["fit", str(plain), "--text", "-o", str(model), "--labels", str(short)], "has 1 labels"),
        (["fit", str(plain), "--text", "-o", str(model), "--embeddings", str(empty)], "first line"),
        (["fit", str(plain), "--text", "-o", str(model), *wide], "width 4, not --dim 6"),
        (
            ["fit", str(plain), "--text", "-o", str(model), "--cooccurrence", *wide[:2]],
            "give --embeddings or --cooccurrence, not both",
        ),
    ]:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


def test_sklearn_encoder_on_texts():
    import pickle

    from greedy_rae.sklearn import RAEEncoder
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    enc = RAEEncoder(text=True, dim=6, epochs=2, features="root+mean", random_state=0)
    assert clone(enc).get_params() == enc.get_params()
    pipe = make_pipeline(enc, LogisticRegression()).fit(TEXTS, LABELS)
    assert pipe.predict(TEXTS).shape == (len(TEXTS),)
    fitted = pipe[0]
    assert fitted.rae_.vocabulary.words[:2] == [UNKNOWN, "film"]
    features = fitted.transform(["a new film", "dull"])  # unseen words are <unk>
    assert features.shape == (2, 12)
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.transform(TEXTS), fitted.transform(TEXTS))


def test_estimator_defaults_resolve_by_text():
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder

    seqs = [np.random.default_rng(i).normal(size=(4, 3)) for i in range(6)]
    # learning_rate=None: Adam(0.001) for texts, Adam(0.01) for vectors; a number is kept
    for model, data, rate in [
        (RAEEncoder(text=True, dim=4, epochs=1), TEXTS, 0.001),
        (RAEEncoder(epochs=1), seqs, 0.01),
        (RAEEncoder(text=True, dim=4, epochs=1, learning_rate=0.05), TEXTS, 0.05),
    ]:
        fitted = model.fit(data)
        assert float(fitted.rae_.optimizer.learning_rate) == pytest.approx(rate)
    # the texts' own tokeniser: "film!" is the words film and !
    clf = RAEClassifier(text=True, dim=4, epochs=1, min_count=1, cv=1).fit(TEXTS, LABELS)
    assert clf.encoder_.rae_.vocabulary.tokenizer == "words"
    assert clf.encoder_.rae_.vocabulary.tokens("film!") == ["film", "!"]
    for bad in (0.0, -1.0, float("nan"), "fast"):
        with pytest.raises(ValueError, match="learning_rate must be a positive"):
            RAEEncoder(text=True, dim=4, epochs=1, learning_rate=bad).fit(TEXTS)


def reference_cooccurrence_cosines(texts, vocab, dim, window):
    """Cosines between the words' vectors, from plain-Python counts: PPMI with
    contexts to the power 0.75, and U S U^T of its first ``dim`` singular
    directions taken as the square root of the top of P P^T (no SVD; free of the
    directions' signs)."""
    import math
    from collections import Counter

    pairs = Counter()
    for text in texts:
        ids = [vocab.index.get(t, 0) for t in vocab.tokens(text)]
        for i, a in enumerate(ids):
            for j in range(max(0, i - window), min(len(ids), i + window + 1)):
                if j != i:
                    pairs[a, ids[j]] += 1
    total = sum(pairs.values())
    word, context = Counter(), Counter()
    for (a, b), n in pairs.items():
        word[a] += n
        context[b] += n
    smooth = {b: n**0.75 for b, n in context.items()}
    norm = sum(smooth.values())
    ppmi = np.zeros((len(vocab), len(vocab)))
    for (a, b), n in pairs.items():
        ppmi[a, b] = max(0.0, math.log(n * total / (word[a] * smooth[b] / norm * total)))
    values, vectors = np.linalg.eigh(ppmi @ ppmi.T)
    top = np.argsort(values)[::-1][:dim]
    gram = (vectors[:, top] * np.sqrt(np.clip(values[top], 0, None))) @ vectors[:, top].T
    d = np.sqrt(np.clip(np.diag(gram), 0, None))
    found = d > 1e-9
    d = np.where(found, d, 1.0)
    return gram / np.outer(d, d), found


@pytest.mark.parametrize("size,dim,window", [(None, 4, 2), (None, 30, 1), (700, 6, 3)])
def test_cooccurrence_vectors_match_plain_counts(size, dim, window):
    from greedy_rae.text import cooccurrence_vectors, initial_table

    texts = TEXTS
    if size is not None:  # a vocabulary past the whole decomposition's size: the truncated one
        rng = np.random.default_rng(1)
        texts = [" ".join(f"w{k}" for k in rng.zipf(1.3, 12) % size) for _ in range(900)]
    vocab = Vocabulary.from_texts(texts)
    table = cooccurrence_vectors(texts, vocab, dim, window=window, seed=3)
    assert table.shape == (len(vocab), dim) and table.dtype == np.float32
    cosines, found = reference_cooccurrence_cosines(texts, vocab, dim, window)
    found[0] = False
    rows = table[found]
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rows @ rows.T, cosines[np.ix_(found, found)], atol=1e-4)
    # <unk> and words that never meet another keep the seeded random start
    start, _ = initial_table(vocab, dim, seed=3)
    np.testing.assert_array_equal(table[~found], start[~found])
    np.testing.assert_array_equal(
        cooccurrence_vectors(texts, vocab, dim, window=window, seed=3), table
    )


def test_cooccurrence_vectors_bad_input():
    from greedy_rae.text import cooccurrence_vectors

    vocab = Vocabulary.from_texts(TEXTS)
    with pytest.raises(TypeError, match="vocabulary must be a Vocabulary"):
        cooccurrence_vectors(TEXTS, ["film"], 4)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        cooccurrence_vectors(TEXTS, vocab, 4, window=0)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        cooccurrence_vectors(TEXTS, vocab, 0)
    with pytest.raises(ValueError, match="texts is empty"):
        cooccurrence_vectors([], vocab, 4)
    # a single word per text meets nothing: the random start, as initial_table gives it
    from greedy_rae.text import initial_table

    np.testing.assert_array_equal(
        cooccurrence_vectors(["film", "dull"], vocab, 4, seed=0), initial_table(vocab, 4, seed=0)[0]
    )


def test_estimators_start_the_table_from_the_texts_when_asked():
    from greedy_rae.sklearn import RAEEncoder
    from greedy_rae.text import cooccurrence_vectors

    # a learning rate too small to move the table: it stays at its start
    tiny = dict(text=True, dim=4, epochs=1, min_count=1, learning_rate=1e-12, random_state=5)
    vocab = Vocabulary.from_texts(TEXTS)
    expected = cooccurrence_vectors(TEXTS, vocab, 4, seed=5)
    fitted = RAEEncoder(embeddings="cooccurrence", **tiny).fit(TEXTS)
    np.testing.assert_allclose(fitted.rae_.embeddings, expected, atol=1e-6)
    random = RAEEncoder(**tiny).fit(TEXTS).rae_.embeddings  # the default start
    assert np.abs(random).max() < 0.01  # Socher et al.'s 0.001 * normal
    with pytest.raises(ValueError, match="embeddings must be None .* 'cooccurrence' or word"):
        RAEEncoder(embeddings="glove", **tiny).fit(TEXTS)
    with pytest.raises(ValueError, match="cooccurrence_vectors"):
        gr.RAE(4, vocabulary=vocab, embeddings="cooccurrence")


def test_table_regularizer_counts_the_rows_used():
    reg = keras.regularizers.L2(0.01)
    keras.utils.set_random_seed(0)
    vocab = Vocabulary.from_texts(TEXTS)
    rae = gr.RAE(6, vocabulary=vocab, embeddings_regularizer=reg)
    texts = ["dull film film", "a film"]
    loss, grads = rae.loss_and_gradients(texts)
    table = tf.Variable(rae.embeddings)
    used = sorted({vocab.index[w] for t in texts for w in t.split()})
    with tf.GradientTape() as tape:
        want = reference_loss(rae, texts, None, table) + 0.01 * tf.reduce_sum(
            tf.square(tf.gather(table, used))
        )
    want_table = np.asarray(tf.convert_to_tensor(tape.gradient(want, table)))
    assert loss == pytest.approx(float(want), rel=1e-5)
    np.testing.assert_allclose(
        np.asarray(tf.convert_to_tensor(grads[-1])), want_table, rtol=2e-4, atol=1e-7
    )


def test_text_under_a_strategy_equals_one_device():
    # several replicas and workers: tests/test_distributed.py
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        multi = fresh(classes=2)
    single = fresh(classes=2)
    fit = dict(labels=LABELS, epochs=3, batch_size=2, verbose=0, seed=0)
    np.testing.assert_allclose(multi.fit(TEXTS, **fit)["loss"], single.fit(TEXTS, **fit)["loss"])
    np.testing.assert_allclose(multi.embeddings, single.embeddings, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="embeddings_regularizer is not supported under"):
        with strategy.scope():
            fresh(embeddings_regularizer="l2")


def test_real_sentences_and_vectors_from_gensims_test_data():
    # 200 movie-review sentences (fastText format, latin-1) and fastText vectors for
    # them, from the gensim wheel (in the test extra); gensim's own reader is the
    # reference for ours
    gensim = pytest.importorskip("gensim", reason="gensim is in the test extra")
    from gensim.models import KeyedVectors
    from greedy_rae.text import read_lines

    folder = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data")
    texts, names = read_lines(os.path.join(folder, "pang_lee_polarity.cor"), "latin-1")
    assert len(texts) == 200 and set(names) == {"pos", "neg"}
    vec = os.path.join(folder, "pang_lee_polarity_fasttext.vec")
    words, vectors = load_word_vectors(vec, encoding="latin-1")
    kv = KeyedVectors.load_word2vec_format(vec, encoding="latin-1")
    assert words == list(kv.index_to_key)
    np.testing.assert_allclose(vectors, kv.vectors, rtol=1e-6)
    labels = np.array([int(n == "pos") for n in names])
    vocab = Vocabulary.from_texts(texts)
    keras.utils.set_random_seed(0)
    rae = gr.RAE(
        kv.vector_size, vocabulary=vocab, embeddings=kv, activation="tanh", normalize=True,
        classes=2, pairs="adjacent",
    )  # fmt: skip
    known = [w for w in vocab.words[1:] if w in kv.key_to_index]
    assert len(known) > 0.9 * (len(vocab) - 1)
    np.testing.assert_array_equal(rae.embeddings[vocab.index[known[0]]], kv[known[0]])
    hist = rae.fit(texts, labels=labels, epochs=3, batch_size=32, verbose=0, seed=0)
    assert hist["loss"][-1] < hist["loss"][0]
    scores = rae.evaluate(texts, labels)
    assert scores["accuracy"] >= 0.5 and np.isfinite(scores["loss"])
