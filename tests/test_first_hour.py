"""What a newcomer meets first: the command line's files and messages, one face
across the API, the command line and the estimators, saved files and start-up."""

import inspect
import json
import os
import stat
import subprocess
import sys
import warnings

import greedy_rae as gr
import numpy as np
import pytest
from greedy_rae import _options
from greedy_rae.cli import main, parser


def run_cli(*args, cwd, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "greedy_rae", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), 4)).astype(np.float32) for n in rng.integers(3, 9, 12)]
    np.savez(tmp_path / "seqs.npz", *seqs)
    np.save(tmp_path / "labels.npy", rng.integers(0, 2, 12))
    return tmp_path, seqs


# -- 1, 2: files checked before training, and before TensorFlow is imported --------


@pytest.mark.slow
def test_file_errors_come_before_tensorflow_and_training(data):
    tmp, _ = data
    (tmp / "names.txt").write_text("a\n")
    probe = (
        "import sys\n"
        "from greedy_rae.cli import main\n"
        "cases = [\n"
        "  (['fit', 'seqs.npz', '-o', 'nofolder/m.keras'], 'does not exist'),\n"
        "  (['fit', 'nonexistent.npz', '-o', 'm.keras'], 'no file or folder'),\n"
        "  (['fit', 'nonexistent.txt', '--text', '-o', 'm.keras'], 'no text file'),\n"
        "  (['fit', 'seqs.npz', '-o', 'm.keras', '--validation-data', 'no.npz'], 'no valid'),\n"
        "  (['fit', 'seqs.npz', '-o', 'm.keras', '--labels', 'names.txt'], 'go with --text'),\n"
        "  (['encode', 'none.keras', 'seqs.npz', '-o', 'f.npy'], 'no model file'),\n"
        "  (['encode', 'none.keras', 'seqs.npz', '-o', 'nofolder/f.npy'], 'does not exist'),\n"
        "  (['tree', 'none.keras', 'seqs.npz'], 'no model file'),\n"
        "]\n"
        "for argv, message in cases:\n"
        "    assert main(argv) == 2, argv\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], cwd=tmp, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    messages = r.stderr.strip().splitlines()
    for line, want in zip(messages, ["does not exist", "no file or folder", "no text file",
                                     "no valid", "go with --text", "no model file",
                                     "does not exist", "no model file"]):  # fmt: skip
        assert want in line, (line, want)
    assert not (tmp / "nofolder").exists()


# -- 3: validation takes the training objective ----------------------------------


def test_validation_of_a_labelled_fit_takes_its_labels(data, capsys):
    tmp, seqs = data
    model = str(tmp / "m.keras")
    base = ["fit", str(tmp / "seqs.npz"), "-o", model, "--epochs", "2"]
    labelled = [*base, "--labels", str(tmp / "labels.npy")]
    assert main([*labelled, "--validation-data", str(tmp / "seqs.npz")]) == 2
    assert "--validation-labels" in capsys.readouterr().err
    args = [*labelled, "--validation-data", str(tmp / "seqs.npz")]
    assert main([*args, "--validation-labels", str(tmp / "labels.npy")]) == 0
    out = capsys.readouterr().out
    # the same data for training and validation: the last epoch's val_loss is the
    # trained model's loss on the training set, on the same objective (labels included)
    val_loss = float(out.split("val_loss: ")[-1].split()[0])
    rae = gr.RAE.load(model)
    labels = np.load(tmp / "labels.npy")
    want = rae.evaluate(seqs, labels=labels)["loss"]
    assert val_loss == pytest.approx(want, rel=1e-3)
    assert abs(val_loss - rae.evaluate(seqs)) > 0.01 * val_loss  # not the unlabelled loss


# -- 4: leaf names in every format -----------------------------------------------


def test_tree_leaf_names_in_every_format(data, capsys):
    tmp, seqs = data
    model = str(tmp / "m.keras")
    assert main(["fit", str(tmp / "seqs.npz"), "-o", model, "--epochs", "1"]) == 0
    n = len(seqs[0])
    names = [f"leaf{i}" for i in range(n)]
    (tmp / "names.txt").write_text("\n".join(names) + "\n")
    (tmp / "short.txt").write_text("\n".join(names[:-1]) + "\n")
    tree = gr.RAE.load(model).trees([seqs[0]])[0]
    for fmt in ("text", "json", "newick", "bracket", "dot"):
        capsys.readouterr()
        argv = ["tree", model, str(tmp / "seqs.npz"), "--format", fmt]
        assert main([*argv, "--leaf-names", str(tmp / "names.txt")]) == 0
        out = capsys.readouterr().out
        assert all(name in out for name in names), fmt
        assert main([*argv, "--leaf-names", str(tmp / "short.txt")]) == 2
        assert f"has {n - 1} names but sequence 0 has {n} leaves" in capsys.readouterr().err
    leaves = []

    def walk(node):
        if "children" in node:
            for child in node["children"]:
                walk(child)
        else:
            leaves.append((node["index"], node["label"]))

    walk(tree.to_dict(names))
    assert sorted(leaves) == list(enumerate(names))


def test_json_export_of_a_text_model_carries_its_words(tmp_path, capsys):
    corpus = tmp_path / "t.txt"
    corpus.write_text("a good film\na dull film !\n")
    model = str(tmp_path / "m.keras")
    assert main(["fit", str(corpus), "--text", "-o", model, "--epochs", "1", "--dim", "4"]) == 0
    capsys.readouterr()
    assert main(["tree", model, str(corpus), "--index", "1", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    words = []

    def walk(node):
        for child in node.get("children", []):
            walk(child)
        if "children" not in node:
            words.append(node["label"])

    walk(out)
    assert words == ["a", "dull", "film", "!"]  # adjacent pairs keep the order


# -- 5: piping -------------------------------------------------------------------


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", rng.normal(size=(3000, 4)).astype(np.float32))
    np.savez(tmp_path / "small.npz", rng.normal(size=(5, 4)).astype(np.float32))
    r = run_cli("fit", "small.npz", "-o", "m.keras", "--epochs", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        f"{sys.executable} -m greedy_rae tree m.keras big.npz | head -n 1",
        shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert len(r.stdout.splitlines()) == 1
    assert r.stderr == "", r.stderr


# -- 6: saved files have the user's mode ------------------------------------------


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_files_take_the_users_umask_and_h5_saves_are_quiet(tmp_path, suffix):
    rae = gr.RAE(3)
    old = os.umask(0o022)
    try:
        with warnings.catch_warnings():
            # Keras's legacy-format advice would fail here
            warnings.simplefilter("error", UserWarning)
            rae.save(tmp_path / f"m{suffix}")
        rae.fit([np.ones((3, 3), np.float32)], checkpoint_dir=tmp_path / "ck", verbose=0)
        os.umask(0o027)
        rae.save(tmp_path / f"n{suffix}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / f"m{suffix}").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "ck" / "checkpoint.npz").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / f"n{suffix}").st_mode) == 0o640


# -- 7: 3-D arrays ----------------------------------------------------------------


def test_sklearn_refuses_a_3d_panel_and_points_to_sktime():
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder

    X = np.random.default_rng(0).normal(size=(30, 3, 40))
    y = np.arange(30) % 2
    for est in (RAEEncoder(epochs=1), RAEClassifier(epochs=1)):
        with pytest.raises(ValueError, match="greedy_rae.sktime"):
            est.fit(X, y)
    # the same numbers as a list of (n, dim) sequences are taken, as documented
    assert RAEEncoder(epochs=1).fit_transform(list(X)).shape[0] == 30


# -- 8: sktime estimators inside scikit-learn -------------------------------------


@pytest.mark.slow
def test_sktime_estimators_work_inside_scikit_learn():
    pytest.importorskip("sktime")
    from greedy_rae.sktime import RAEClassifier, RAETransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

    rng = np.random.default_rng(0)
    y = np.arange(24) % 2
    X = rng.normal(size=(24, 2, 15)) + y[:, None, None]  # separable by the mean
    scores = cross_val_score(RAEClassifier(epochs=2, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    search = GridSearchCV(RAEClassifier(epochs=1, random_state=0), {"C": [0.1, 1.0]}, cv=2)
    assert search.fit(X, y).best_params_["C"] in (0.1, 1.0)
    pipe = RAETransformer(epochs=2, random_state=0) * LogisticRegression()
    assert pipe.fit(X, y).predict(X).shape == (24,)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    assert cross_val_score(RAEClassifier(epochs=1), X, y, cv=folds).shape == (3,)


# -- 9: quiet estimators ------------------------------------------------------------


@pytest.mark.slow
def test_estimators_are_as_quiet_as_the_import(tmp_path):
    probe = (
        "import numpy as np\n"
        "from greedy_rae.sklearn import RAEClassifier\n"
        "X = [np.ones((3, 2), np.float32) * k for k in range(6)]\n"
        "RAEClassifier(epochs=1, random_state=0).fit(X, [0, 1] * 3)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    r = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr


# -- 10: messages that name what is wrong -----------------------------------------


def test_messages_name_what_is_wrong(data, capsys, tmp_path):
    import pickle

    from greedy_rae.sklearn import RAEEncoder

    tmp, seqs = data
    corpus = tmp / "t.txt"
    corpus.write_text("a good film\na dull film\n")
    text_model = str(tmp / "text.keras")
    assert main(["fit", str(corpus), "--text", "-o", text_model, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["encode", text_model, str(tmp / "seqs.npz"), "-o", str(tmp / "f.npy")]) == 2
    err = capsys.readouterr().err
    assert "text model" in err and "utf-8" not in err
    # a pickle under a model file's name
    est = RAEEncoder(epochs=1).fit(seqs)
    with open(tmp / "estimator.keras", "wb") as f:
        pickle.dump(est, f)
    with pytest.raises(ValueError, match="pickle") as e:
        gr.RAE.load(tmp / "estimator.keras")
    assert "not found" not in str(e.value)
    with pytest.raises(ValueError, match="sequence 0 contains NaN"):
        gr.RAE(2).encode([np.array([[np.nan, 1.0]])])
    with pytest.raises(ValueError, match="width 3 but the network expects width 2"):
        gr.RAE(2).encode([np.ones((2, 3))])


def test_sktime_names_channels():
    pytest.importorskip("sktime")
    from greedy_rae.sktime import RAETransformer

    rng = np.random.default_rng(0)
    t = RAETransformer(epochs=1, random_state=0).fit(rng.normal(size=(6, 2, 10)))
    with pytest.raises(ValueError, match="3 channels .* fitted on 2"):
        t.transform(rng.normal(size=(6, 3, 10)))


# -- one face -----------------------------------------------------------------------


def test_a_text_rae_keeps_word_order_by_default():
    rae = gr.RAE(4, vocabulary=gr.Vocabulary.from_texts(["The cat saw The dog"]))
    assert rae.pairs == "adjacent"
    tree = rae.trees(["The cat saw The dog"])[0]
    # adjacent merges: every node's leaves are a contiguous run of the sentence
    under = {i: [i] for i in range(tree.n)}
    for k, (a, b) in enumerate(tree.merges):
        under[tree.n + k] = under[a] + under[b]
        assert under[tree.n + k] == list(range(min(under[a]), max(under[b]) + 1))
    assert gr.RAE(4).pairs == "all"  # vectors: the post's


def test_front_ends_take_their_defaults_from_one_table():
    from greedy_rae import aeon, sklearn, sktime

    rae = inspect.signature(gr.RAE).parameters
    for name in ("activation", "normalize", "decoder_activation", "reconstruction", "alpha"):
        assert rae[name].default == getattr(_options.MODEL, name)
    fit = inspect.signature(gr.RAE.fit).parameters
    assert (fit["epochs"].default, fit["batch_size"].default) == (
        _options.MODEL.epochs, _options.MODEL.batch_size,
    )  # fmt: skip
    assert inspect.signature(gr.RAE.encode).parameters["features"].default == "root"
    cli = {
        a.dest: a.default for a in parser()._subparsers._group_actions[0].choices["fit"]._actions
    }
    assert cli["epochs"] == _options.CLI_EPOCHS and cli["pairs"] is None
    assert cli["learning_rate"] is None  # Adam's, 0.001 (said in --help); none for lbfgs
    for name in ("activation", "decoder_activation", "reconstruction", "alpha", "optimizer"):
        assert cli[name] == getattr(_options.MODEL, name), name
    # Socher et al.'s objective options: the API's and the command line's
    for name, value in _options.OBJECTIVE._asdict().items():
        assert rae[name].default == value and cli[name] == value, name
    estimators = [sklearn.RAEEncoder, sklearn.RAEClassifier, sktime.RAETransformer,
                  sktime.RAEClassifier, aeon.RAETransformer, aeon.RAEClassifier]  # fmt: skip
    for cls in estimators:
        params = inspect.signature(cls).parameters
        for name in _options.Defaults._fields:
            assert params[name].default == getattr(_options.ESTIMATOR, name), (cls, name)
    # the classifier takes every option of the encoder, and the panels' ones the same
    encoder = set(inspect.signature(sklearn.RAEEncoder).parameters) - {"n_classes"}
    assert encoder <= set(inspect.signature(sklearn.RAEClassifier).parameters)
    table = _options.defaults_table()
    assert "`'adjacent'` with a vocabulary" in table and "`50`" in table


def test_help_shows_every_default():
    for command, options in [
        ("fit", ["--epochs", "--pairs", "--batch-size", "--alpha", "--min-count", "--seed",
                 "--learning-rate", "--activation", "--reconstruction", "--head-loss",
                 "--inner-weight"]),
        ("encode", ["--features"]),
        ("tree", ["--format", "--index"]),
        ("demo", ["--steps", "--pairs", "--seed"]),
    ]:  # fmt: skip
        sub = parser()._subparsers._group_actions[0].choices[command]
        text = " ".join(sub.format_help().split()).split("options:")[1]
        for option in options:
            after = text.split(option + " ", 1)[1]
            assert "default" in after.split(" --")[0], (command, option)
        if command == "demo":
            assert "post's example" in sub.description


def test_renamed_flags_match_the_api():
    fit = parser()._subparsers._group_actions[0].choices["fit"]
    flags = {s for a in fit._actions for s in a.option_strings}
    assert {"--validation-data", "--embeddings", "--max-size"} <= flags
    assert not {"--validation", "--vectors", "--vocabulary-size"} & flags
    tree = parser()._subparsers._group_actions[0].choices["tree"]
    assert "--leaf-names" in {s for a in tree._actions for s in a.option_strings}
