"""Training at scale: minibatches, checkpoints and resume, verbose output, encoding in batches."""

import greedy_rae as gr
import numpy as np
import pytest
from seed_reference import reference_gradients


def seqs(count, dim=4, seed=0, lo=1, hi=14):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(n), dim)).astype(np.float32) for n in rng.integers(lo, hi, count)]


def fresh(seed=0, pairs="all", replay="auto"):
    import keras

    keras.utils.set_random_seed(seed)
    return gr.RAE(4, pairs=pairs, replay=replay)


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("replay", ["numpy", "graph", "graph loop"])
def test_variable_length_minibatch_gradient(random_network, pairs, replay, monkeypatch):
    if replay == "graph loop":  # the while loop that deep trees take
        monkeypatch.setattr("greedy_rae.replay.graph_pass.UNROLL", 0)
    m = random_network(4, seed=11)
    data = seqs(6, seed=3)
    per_seq = [reference_gradients(s, m, adjacent=pairs == "adjacent") for s in data]
    rae = gr.RAE(network=m, pairs=pairs, replay="numpy" if replay == "numpy" else "graph")
    loss, grads = rae.loss_and_gradients(data)
    assert loss == pytest.approx(np.mean([p[0] for p in per_seq]), rel=1e-5)
    for k, g in enumerate(grads):
        want = np.mean([p[1][k] for p in per_seq], axis=0)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


@pytest.mark.slow
@pytest.mark.parametrize("replay", ["numpy", "graph"])
def test_resume_equals_uninterrupted(tmp_path, replay):
    data = seqs(20, seed=1)
    args = dict(batch_size=6, verbose=0, seed=5)

    straight = fresh(replay=replay)
    h_straight = straight.fit(data, epochs=4, **args)

    first = fresh(replay=replay)
    first.fit(data, epochs=2, checkpoint_dir=tmp_path, **args)
    resumed = fresh(seed=99, replay=replay)  # other initial weights: the checkpoint must win
    h_resumed = resumed.fit(data, epochs=4, checkpoint_dir=tmp_path, **args)

    assert h_resumed["loss"] == pytest.approx(h_straight["loss"], rel=1e-6)
    for a, b in zip(straight.network.get_weights(), resumed.network.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a finished run resumes to nothing new
    again = fresh(seed=7, replay=replay)
    h_again = again.fit(data, epochs=4, checkpoint_dir=tmp_path, **args)
    assert h_again["loss"] == h_resumed["loss"]


@pytest.mark.slow
def test_interrupted_run_resumes(tmp_path):
    import keras

    data = seqs(12, seed=2)
    args = dict(batch_size=4, verbose=0, seed=1)
    straight = fresh()
    straight.fit(data, epochs=3, **args)

    class Stop(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.params is not None and batch == 1 and self.epoch == 1:
                raise KeyboardInterrupt

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    cut = fresh()
    with pytest.raises(KeyboardInterrupt):
        cut.fit(data, epochs=3, checkpoint_dir=tmp_path, callbacks=[Stop()], **args)
    resumed = fresh(seed=3)
    resumed.fit(data, epochs=3, checkpoint_dir=tmp_path, **args)
    for a, b in zip(straight.network.get_weights(), resumed.network.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_with_other_arguments_is_refused(tmp_path):
    data = seqs(8, seed=4)
    fresh().fit(data, epochs=1, batch_size=4, verbose=0, seed=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="batch_size=4.*batch_size=2"):
        fresh().fit(data, epochs=2, batch_size=2, verbose=0, seed=0, checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def test_early_stopping_and_verbose_lines(capsys):
    import keras

    rae = fresh()
    data = seqs(10, seed=6)
    hist = rae.fit(data, epochs=3, batch_size=5, verbose=2, seed=0)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 3 and out.count("loss") >= 3
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    hist = rae.fit(data, epochs=10, batch_size=5, verbose=0, callbacks=[stop])
    assert len(hist["loss"]) == 2


@pytest.mark.slow
def test_shuffle_seed_is_reproducible():
    data = seqs(16, seed=8)
    a, b = fresh(), fresh()
    ha = a.fit(data, epochs=2, batch_size=3, verbose=0, seed=42)
    hb = b.fit(data, epochs=2, batch_size=3, verbose=0, seed=42)
    assert ha["loss"] == hb["loss"]


def test_encode_in_batches_matches_one_pass():
    rae = fresh(pairs="adjacent")
    data = seqs(300, seed=9, lo=1, hi=30)
    np.testing.assert_array_equal(rae.encode(data, batch_size=37), rae.encode(data))
    tf_rae = gr.RAE(network=rae.network, pairs="adjacent", scorer="tf")
    np.testing.assert_allclose(
        tf_rae.encode(data, batch_size=64), rae.encode(data), rtol=1e-4, atol=1e-5
    )


def plan_by_definition(seqs, trees, weighted):
    """The replay plan in plain Python, from its definition: the table holds every
    leaf (sequence order), then the merges sorted by level (a leaf is level 0, a
    merge one more than its deeper child), ties in sequence then creation order;
    the gradient pass's table starts with a zero row, then each level from the
    last back to the first adds its left children's rows, then its right ones'."""
    total = sum(len(x) for x in seqs)
    merges = []  # (level, sequence, step, left id, right id, leaves left, leaves right)
    for t, tree in enumerate(trees):
        level, count = [0] * tree.n, [1] * tree.n
        for k, (a, b) in enumerate(tree.merges):
            merges.append((1 + max(level[a], level[b]), t, k, a, b, count[a], count[b]))
            level.append(merges[-1][0])
            count.append(count[a] + count[b])
    merges.sort(key=lambda m: m[:3])
    row, start = {}, 0
    for t, x in enumerate(seqs):
        for i in range(len(x)):
            row[t, i] = start + i
        start += len(x)
    for pos, (_, t, k, *_) in enumerate(merges):
        row[t, trees[t].n + k] = total + pos
    levels = [m[0] for m in merges]
    sizes = [levels.count(lv) for lv in range(1, max(levels, default=0) + 1)]
    first = {}  # level -> (its first left-child row in the pass's table, its first merge)
    at = 1
    for lv in range(len(sizes), 0, -1):
        first[lv] = (at, levels.index(lv))
        at += 2 * sizes[lv - 1]
    parent = [0] * len(merges)
    leaf_parent = [0] * total  # a one-leaf tree's leaf is its root: row 0
    for pos, (lv, t, _, a, b, _, _) in enumerate(merges):
        for side, child in enumerate((a, b)):
            rows, start = first[lv]
            at = rows + side * sizes[lv - 1] + pos - start
            if child >= trees[t].n:
                parent[row[t, child] - total] = at
            else:
                leaf_parent[row[t, child]] = at
    return {
        "nodes": np.concatenate(
            [*seqs, *[trees[t].embeddings[trees[t].n + k][None] for _, t, k, *_ in merges]]
        ),
        "left": [row[t, a] for _, t, _, a, _, _, _ in merges],
        "right": [row[t, b] for _, t, _, _, b, _, _ in merges],
        "sizes": sizes,
        "left_share": [np.float32(n1 / (n1 + n2)) for *_, n1, n2 in merges] if weighted else [],
        "row_tree": [t for t, x in enumerate(seqs) for _ in x] + [m[1] for m in merges],
        "parent": parent,
        "leaf_parent": leaf_parent,
    }


@pytest.mark.parametrize("pairs", ["all", "adjacent"])
@pytest.mark.parametrize("reconstruction", ["plain", "weighted"])
@pytest.mark.parametrize("options", [{}, {"activation": "tanh", "normalize": True}])
def test_replay_plans_follow_their_definition(pairs, reconstruction, options):
    import keras
    from greedy_rae.build import build_trees
    from greedy_rae.build.native import native_plan
    from greedy_rae.build.plan import plan_of_trees
    from greedy_rae.network import native_spec

    keras.utils.set_random_seed(2)
    net = gr.merge_network(4, **options)
    data = seqs(40, seed=9, lo=1, hi=30) + seqs(3, seed=10, lo=1, hi=2)
    trees = build_trees(data, net, pairs, reconstruction=reconstruction)
    want = plan_by_definition(data, trees, reconstruction == "weighted")
    assert max(want["sizes"]) > 1 and len(want["sizes"]) > 3  # several levels, shared ones
    native = native_plan(data, native_spec(net), pairs, reconstruction)
    # the same plan from trees (the TF scorer's path), from the same trees
    from_trees = plan_of_trees(
        [t.merges for t in trees], [t.embeddings for t in trees], reconstruction == "weighted"
    )
    for plan in (native, from_trees):
        assert set(plan._fields) == set(want)  # every field, by name
        for name, value in want.items():
            got = getattr(plan, name)
            assert got.dtype == (np.float32 if name in ("nodes", "left_share") else np.int32)
            np.testing.assert_array_equal(got, np.asarray(value, dtype=got.dtype), err_msg=name)


def test_validation_split_holds_out_the_last_sequences():
    import keras

    data = seqs(20, seed=5)
    keras.utils.set_random_seed(0)
    split = gr.RAE(4).fit(data, epochs=2, verbose=0, seed=0, validation_split=0.25)
    keras.utils.set_random_seed(0)
    explicit = gr.RAE(4).fit(data[:15], epochs=2, verbose=0, seed=0, validation_data=data[15:])
    assert split == explicit  # the same losses, held-out and all
    # with labels, and early stopping on the held-out loss
    keras.utils.set_random_seed(0)
    rae = gr.RAE(4, classes=2)
    y = np.arange(20) % 2
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1e9)
    hist = rae.fit(data, labels=y, epochs=10, verbose=0, validation_split=0.2, callbacks=[stop])
    assert len(hist["val_accuracy"]) == 2  # stopped after the first epoch without a gain
    with pytest.raises(ValueError, match="not both"):
        rae.fit(data, validation_split=0.2, validation_data=data)
    with pytest.raises(ValueError, match="leaves 0 for validation"):
        rae.fit(data[:2], validation_split=0.1)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        rae.fit(data, validation_split=1.5)
