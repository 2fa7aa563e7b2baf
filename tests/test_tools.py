"""Tools: tree exports and plots, the command line, versions."""

import json
import os
import subprocess
import sys

import greedy_rae as gr
import numpy as np
import pytest


def sample_tree(n=9, dim=4, seed=0, pairs="all"):
    import keras

    keras.utils.set_random_seed(seed)
    leaves = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return gr.greedy_tree(leaves, gr.merge_network(dim, "tanh", True), pairs)


def clusters_from_merges(tree):
    """Each merged node as (left leaves, right leaves), in the tree's left/right order."""
    n = tree.n
    under = {i: (i,) for i in range(n)}
    out = set()
    for k, (a, b) in enumerate(tree.merges):
        under[n + k] = under[a] + under[b]
        out.add((under[a], under[b]))
    return out


def parse_newick(text):
    """A small Newick reader: nested (left, right) tuples of leaf names, and the
    height of every inner node (its distance to the leaves below it)."""
    assert text.endswith(";")
    pos = 0

    def name():
        nonlocal pos
        if text[pos] == "'":
            end = pos + 1
            out = ""
            while True:
                if text[end] == "'" and text[end + 1 : end + 2] == "'":
                    out, end = out + "'", end + 2
                elif text[end] == "'":
                    pos = end + 1
                    return out
                else:
                    out, end = out + text[end], end + 1
        start = pos
        while text[pos] not in ",:);":
            pos += 1
        return text[start:pos]

    def length():
        nonlocal pos
        assert text[pos] == ":"
        start = pos = pos + 1
        while text[pos] not in ",);":
            pos += 1
        return float(text[start:pos])

    heights = {}

    def node():
        nonlocal pos
        if text[pos] != "(":
            return name(), 0.0
        pos += 1
        left, hl = node()
        ll = length()
        assert text[pos] == ","
        pos += 1
        right, hr = node()
        lr = length()
        assert text[pos] == ")"
        pos += 1
        assert hl + ll == pytest.approx(hr + lr, rel=1e-9, abs=1e-9)
        heights[(left, right)] = hl + ll
        return (left, right), hl + ll

    tree, _ = node()
    assert text[pos:] == ";"
    return tree, heights


def flatten(t):
    return (t,) if not isinstance(t, tuple) else flatten(t[0]) + flatten(t[1])


def pairs_of(t, out):
    if isinstance(t, tuple):
        out.add((tuple(int(x) for x in flatten(t[0])), tuple(int(x) for x in flatten(t[1]))))
        pairs_of(t[0], out)
        pairs_of(t[1], out)
    return out


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_newick_round_trip(pairs):
    tree = sample_tree(12, pairs=pairs)
    parsed, heights = parse_newick(tree.to_newick())
    assert pairs_of(parsed, set()) == clusters_from_merges(tree)
    # heights are the cumulative scores
    got = sorted(heights.values())
    np.testing.assert_allclose(got, np.sort(tree.scores), rtol=1e-9, atol=1e-12)
    names = ["it's", "a b", "c", "d:e", "f", "g", "h", "i", "j", "k", "l", "m"]
    parsed, _ = parse_newick(tree.to_newick(names))
    assert sorted(flatten(parsed)) == sorted(names)


def test_bracket_round_trip():
    tree = sample_tree(10)
    text = tree.to_bracket()
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()

    ids = {}

    def read(i):
        if tokens[i] != "(":
            return tokens[i], i + 1
        label = tokens[i + 1]
        left, i = read(i + 2)
        right, i = read(i)
        assert tokens[i] == ")"
        ids[(left, right)] = int(label)
        return (left, right), i + 1

    parsed, end = read(0)
    assert end == len(tokens)
    assert pairs_of(parsed, set()) == clusters_from_merges(tree)
    assert sorted(ids.values()) == list(range(10, 19))  # inner labels: the node ids
    import nltk  # in the test extra: nltk reads the bracket form back

    t = nltk.Tree.fromstring(text)
    assert t.label() == "18" and sorted(t.leaves(), key=int) == [str(i) for i in range(10)]
    assert all(len(s) == 2 for s in t.subtrees())
    with pytest.raises(ValueError, match="spaces or brackets"):
        tree.to_bracket([f"leaf {i}" for i in range(10)])
    with pytest.raises(ValueError, match="10 leaves"):
        tree.to_bracket(["a", "b"])


def test_dict_and_dot():
    tree = sample_tree(7)
    d = json.loads(json.dumps(tree.to_dict()))

    def walk(node, out):
        if "children" in node:
            left, right = node["children"]
            out[node["id"]] = (left["id"], right["id"], node["score"])
            walk(left, out)
            walk(right, out)
        else:
            assert node["id"] == node["index"] and node["score"] == 0.0
        return out

    inner = walk(d, {})
    assert d["id"] == 2 * 7 - 2
    for k, (a, b) in enumerate(tree.merges):
        assert inner[7 + k] == (a, b, pytest.approx(tree.scores[k]))
    dot = tree.to_dot([f'x"{i}' for i in range(7)])
    assert dot.startswith("digraph tree {") and dot.rstrip().endswith("}")
    edges = [line.strip().rstrip(";").split(" -> ") for line in dot.splitlines() if "->" in line]
    want = [[f"n{7 + k}", f"n{c}"] for k, m in enumerate(tree.merges) for c in m]
    assert edges == want
    assert '"x\\"3"' in dot


def test_plot_draws_one_line_per_merge():
    import matplotlib  # the [plot] extra, installed by the test extra

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tree = sample_tree(11)
    fig, ax = plt.subplots()
    assert tree.plot(ax=ax, labels=list("abcdefghijk")) is ax
    segments = sum(len(c.get_segments()) for c in ax.collections)
    assert segments + len(ax.lines) == tree.n - 1
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == list("abcdefghijk")
    plt.close(fig)


def test_plot_without_matplotlib_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"greedy-rae\[plot\]"):
        sample_tree(4).plot()


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "greedy_rae", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        # the package's own quiet start (a user's TF_CPP_MIN_LOG_LEVEL would win)
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
        timeout=300,
    )


@pytest.mark.slow
def test_command_line_fit_encode_tree(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(n), 5)).astype(np.float32) for n in rng.integers(2, 12, 14)]
    np.savez(tmp_path / "seqs.npz", *seqs)
    labels = rng.integers(0, 3, 14)
    np.save(tmp_path / "labels.npy", labels)
    os.mkdir(tmp_path / "folder")
    for k, s in enumerate(seqs[:3]):
        np.save(tmp_path / "folder" / f"{k:02d}.npy", s)

    r = run_cli(
        "fit", "seqs.npz", "-o", "model.keras", "--epochs", "3", "--activation", "tanh",
        "--normalize", "--labels", "labels.npy", "--pairs", "adjacent", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("loss") >= 3
    rae = gr.RAE.load(tmp_path / "model.keras")
    assert (rae.pairs, rae.classes) == ("adjacent", 3)
    # Socher et al.'s objective options, named as the API's
    r = run_cli(
        "fit", "seqs.npz", "-o", "socher.keras", "--epochs", "1", "--activation", "tanh",
        "--normalize", "--normalize-reconstruction", "--labels", "labels.npy",
        "--head-loss", "squared", "--inner-weight", "0.5", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    socher = gr.RAE.load(tmp_path / "socher.keras")
    assert (socher.head_loss, socher.inner_weight) == ("squared", 0.5)
    assert "normalize_reconstruction=True" in repr(socher)

    r = run_cli("encode", "model.keras", "seqs.npz", "-o", "f.npy", "--features", "root+mean",
                cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(
        np.load(tmp_path / "f.npy"), rae.encode(seqs, features="root+mean")
    )
    r = run_cli("encode", "model.keras", "folder", "-o", "g.npy", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), rae.encode(seqs[:3]))

    tree = rae.trees([seqs[4]])[0]
    (tmp_path / "names.txt").write_text("\n".join(f"w{i}" for i in range(tree.n)) + "\n")
    for fmt, want in [
        ("newick", tree.to_newick([f"w{i}" for i in range(tree.n)])),
        ("bracket", tree.to_bracket([f"w{i}" for i in range(tree.n)])),
        ("json", json.dumps(tree.to_dict([f"w{i}" for i in range(tree.n)]))),
        ("text", tree.to_text([f"w{i}" for i in range(tree.n)])),
    ]:
        r = run_cli("tree", "model.keras", "seqs.npz", "--index", "4", "--format", fmt,
                    "--leaf-names", "names.txt", cwd=tmp_path)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.rstrip("\n") == want
    r = run_cli("tree", "model.keras", "seqs.npz", "--index", "4", "--format", "linkage",
                cwd=tmp_path)  # fmt: skip
    np.testing.assert_allclose(np.loadtxt(r.stdout.splitlines()), tree.to_linkage())


@pytest.mark.parametrize(
    "args,message",
    [
        (["fit", "missing.npz", "-o", "m.keras"], "no file or folder"),
        (["fit", "bad.npz", "-o", "m.keras"], "cannot read"),
        (["fit", "nan.npz", "-o", "m.keras"], "NaN"),
        (["fit", "good.npz", "-o", "m.txt"], ".keras or .h5"),
        (["fit", "good.npz", "-o", "m.keras", "--labels", "long.npy"], "one label for each"),
        (["encode", "garbage.keras", "good.npz", "-o", "x.npy"], "cannot load the model"),
        (["tree", "missing.keras", "good.npz"], "no model file"),
    ],
)
@pytest.mark.slow
def test_command_line_bad_input(tmp_path, args, message):
    np.savez(tmp_path / "good.npz", np.ones((3, 2), np.float32))
    np.savez(tmp_path / "nan.npz", np.full((3, 2), np.nan, np.float32))
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    (tmp_path / "garbage.keras").write_bytes(b"garbage")
    np.save(tmp_path / "long.npy", np.zeros(5, np.int64))
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_command_line_help():
    for cmd in ([], ["fit"], ["encode"], ["tree"], ["demo"]):
        r = subprocess.run(
            [sys.executable, "-m", "greedy_rae", *cmd, "--help"], capture_output=True, text=True
        )
        assert r.returncode == 0 and "usage: greedy-rae" in r.stdout
    r = subprocess.run([sys.executable, "-m", "greedy_rae", "fit", "--help"], capture_output=True,
                       text=True)  # fmt: skip
    assert "np.savez" in r.stdout and "--checkpoint-dir" in r.stdout


def test_help_and_argument_errors_do_not_import_tensorflow():
    # greedy-rae --help and a bad argument answer without loading TensorFlow
    probe = (
        "import sys\n"
        "from greedy_rae.cli import main\n"
        "for argv in ([], ['fit'], ['encode'], ['tree'], ['demo']):\n"
        "    try:\n"
        "        main([*argv, '--help'])\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "for argv in (['fit', '--pairs', 'near', 'x.npz', '-o', 'm.keras'], ['bogus']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 2, e.code\n"
        "import greedy_rae\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert "invalid choice: 'near'" in r.stderr


def test_versions():
    from importlib.metadata import version

    from greedy_rae import _core

    assert gr.__version__ == version("greedy-rae")
    assert _core.__version__ == gr.__version__


def test_progress_bars_of_trees_and_encode(capsys):
    rae = gr.RAE(4, activation="tanh", normalize=True)
    rng = np.random.default_rng(0)
    rae.trees([rng.normal(size=(500, 4))], progress=True)
    assert "499/499" in capsys.readouterr().out  # one batch: a bar over the merges
    seqs = [rng.normal(size=(5, 4)) for _ in range(7)]
    rae.encode(seqs, batch_size=3, progress=True)
    assert "7/7" in capsys.readouterr().out  # several batches: a bar over the sequences


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
def test_flat_clusters_and_segments(pairs):
    from scipy.cluster.hierarchy import fcluster

    rng = np.random.default_rng(4)
    x = rng.normal(size=(25, 3)).astype(np.float32)
    tree = gr.greedy_tree(x, gr.merge_network(3, "tanh", True), pairs)
    for k in (1, 2, 3, 7, 25):
        ours = tree.clusters(k)
        assert sorted(set(ours)) == list(range(1, k + 1))
        # the same partition as scipy's (numbers may differ): leaves share a
        # cluster in one exactly when they do in the other
        theirs = fcluster(tree.to_linkage(), k, criterion="maxclust")
        assert len(set(theirs)) == k
        assert len(set(zip(ours, theirs))) == k
        # and it is the cut of the last k - 1 merges: each cluster is one subtree
        kept = tree.merges[: tree.n - k]
        members = {i: {i} for i in range(tree.n)}
        for step, (a, b) in enumerate(kept):
            members[tree.n + step] = members.pop(int(a)) | members.pop(int(b))
        assert sorted(map(sorted, members.values())) == sorted(
            sorted(np.nonzero(ours == c)[0].tolist()) for c in range(1, k + 1)
        )
    if pairs == "adjacent":
        segments = tree.segments(4)
        assert segments[0][0] == 0 and segments[-1][1] == 25 and len(segments) == 4
        assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))
        labels = tree.clusters(4)
        for c, (start, stop) in enumerate(segments, start=1):
            assert (labels[start:stop] == c).all()
    with pytest.raises(ValueError, match="k must be"):
        tree.clusters(0)


def test_trees_show_themselves_in_notebooks():
    tree = gr.greedy_tree(np.random.default_rng(0).normal(size=(6, 2)), gr.merge_network(2))
    svg = tree._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    printed = []

    class Printer:
        def text(self, s):
            printed.append(s)

    tree._repr_pretty_(Printer(), False)
    assert printed == [str(tree)]
