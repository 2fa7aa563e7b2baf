"""The estimators: scikit-learn's RAEEncoder and RAEClassifier, sktime's and
aeon's RAETransformer and RAEClassifier (each passed through its ecosystem's
own estimator checks)."""

import pickle

import numpy as np
import pytest


def two_classes(seed, count=40, dim=4, labels=(0, 1), shift=2.5):
    """Sequences of 3-8 leaves whose classes differ in the mean of one column."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.asarray(labels), count // 2)
    X = []
    for label in y:
        x = rng.normal(size=(int(rng.integers(3, 9)), dim)).astype(np.float32)
        x[:, 1] += shift if label == labels[1] else -shift
        X.append(x)
    return X, y


@pytest.mark.slow
def test_sklearn_encoder_in_pipeline_search_clone_and_pickle():
    from greedy_rae.sklearn import RAEEncoder
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = two_classes(1)
    enc = RAEEncoder(epochs=2, random_state=0)
    pipe = make_pipeline(enc, LogisticRegression())
    assert cross_val_score(pipe, X, y, cv=3).mean() >= 0.8
    # the search picks the candidate that scores best in the same folds,
    # each candidate scored here on its own (clones with the parameter set)
    folds = StratifiedKFold(2)
    candidates = ["root", "mean", "root+mean"]
    grid = GridSearchCV(pipe, {"raeencoder__features": candidates}, cv=folds).fit(X, y)
    own = [
        cross_val_score(clone(pipe).set_params(raeencoder__features=c), X, y, cv=folds).mean()
        for c in candidates
    ]
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"], own)
    assert grid.best_params_["raeencoder__features"] == candidates[int(np.argmax(own))]

    c = clone(enc)
    assert c.get_params() == enc.get_params() and not hasattr(c, "rae_")
    # without y: unsupervised; the default features are root, node mean, leaf mean
    fitted = clone(enc).fit(X)
    assert fitted.rae_.classes is None and len(fitted.classes_) == 0
    features = fitted.transform(X)
    assert features.shape == (40, 12)
    assert list(fitted.get_feature_names_out()[[0, 4, 8]]) == ["root_0", "mean_0", "leaves_0"]
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.transform(X), features)
    # with y (as in a Pipeline): semi-supervised, any labels; -1 is a class
    # unless it is named the unlabelled mark
    partly = np.where(np.arange(40) % 2, y, -1)
    semi = clone(enc).set_params(unlabelled=-1).fit(X, partly)
    assert semi.rae_.classes == 2 and list(semi.classes_) == [0, 1]
    three = clone(enc).fit(X, partly)
    assert three.rae_.classes == 3 and list(three.classes_) == [-1, 0, 1]
    assert clone(enc).set_params(supervised=False).fit(X, y).rae_.classes is None
    # n_classes=K: y already coded 0..K-1, as before
    coded = RAEEncoder(epochs=1, n_classes=3, random_state=0).fit(X, y)
    assert coded.rae_.classes == 3


def test_encoder_standardises_and_the_leaf_mean_is_mean_pooling():
    from greedy_rae.sklearn import RAEEncoder

    X, _ = two_classes(3, count=10)
    X = [x * 100.0 + 7.0 for x in X]
    enc = RAEEncoder(epochs=1, random_state=0, features="leaves").fit(X)
    frames = np.concatenate(X).astype(np.float64)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    np.testing.assert_allclose(enc.mean_, mean, rtol=1e-5)
    np.testing.assert_allclose(enc.scale_, std, rtol=1e-5)
    pooled = np.stack([((x - mean) / std).mean(axis=0) for x in X])
    np.testing.assert_allclose(enc.transform(X), pooled, rtol=1e-4, atol=1e-5)
    raw = RAEEncoder(epochs=1, random_state=0, features="leaves", standardize=False).fit(X)
    np.testing.assert_allclose(raw.transform(X), np.stack([x.mean(axis=0) for x in X]), rtol=1e-5)


def test_a_fitted_estimator_pickles_to_the_same_bytes_every_time():
    # Keras stamps each save with its time and memory addresses; an unchanged
    # model must pickle alike, or hashing caches (joblib) and aeon's state
    # check see a change
    import time

    from greedy_rae.sklearn import RAEEncoder

    X, y = two_classes(4, count=10)
    fitted = RAEEncoder(epochs=1, random_state=0).fit(X, y)
    first = pickle.dumps(fitted)
    second = time.time()
    time.sleep(1.05 - second % 1.0)  # into the next second of the clock
    features = fitted.transform(X)
    assert pickle.dumps(fitted) == first
    back = pickle.loads(first)
    assert back.rae_.classes == 2 and back.rae_.classifier is not None
    np.testing.assert_array_equal(back.transform(X), features)
    assert pickle.dumps(back) == pickle.dumps(back)


@pytest.mark.slow
def test_sklearn_classifier():
    from greedy_rae.sklearn import RAEClassifier
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = two_classes(2, labels=("calm", "loud"))
    clf = RAEClassifier(epochs=3, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() >= 0.9  # the classes differ in their mean: an easy task
    grid = GridSearchCV(clf, {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert grid.best_estimator_.predict(X[:3]).tolist() == grid.predict(X[:3]).tolist()
    fitted = clf.fit(X, y)
    assert list(fitted.classes_) == ["calm", "loud"]
    proba = fitted.predict_proba(X)
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(fitted.predict(X)) <= {"calm", "loud"}
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(back.predict_proba(X), proba)
    # the same seed, the same model
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    with pytest.raises(ValueError, match="y holds 1 class; a classifier needs at least 2"):
        RAEClassifier(epochs=1).fit(X[:3], ["a", "a", "a"])
    # an unlabelled mark: those sequences train the reconstruction only
    marked = np.where(np.arange(40) % 4 == 0, "?", y)
    semi = RAEClassifier(epochs=2, random_state=0, unlabelled="?").fit(X, marked)
    assert list(semi.classes_) == ["calm", "loud"]
    assert semi.encoder_.rae_.classes == 2


def reference_cross_fit(X, y, test, folds, seed, mark):
    """The cross-fitted classifier's probabilities, by hand: K stratified folds of
    the labelled sequences; an RAEEncoder on all but one fold and every unlabelled
    sequence; a scaler and logistic regression on the features of the fold it did
    not see; the mean of the K regressions' probabilities (classes sorted)."""
    from greedy_rae.sklearn import RAEEncoder
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = sorted(set(y) - {mark})
    codes = np.array([classes.index(v) if v != mark else -1 for v in y])
    labelled, unlabelled = np.flatnonzero(codes >= 0), np.flatnonzero(codes < 0)
    cutter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out = np.zeros((len(test), len(classes)))
    for k, (a, b) in enumerate(cutter.split(labelled, codes[labelled])):
        train = np.sort(np.concatenate([labelled[a], unlabelled]))
        encoder = RAEEncoder(epochs=2, random_state=seed + k, unlabelled=-1)
        encoder.fit([X[i] for i in train], codes[train])
        held = labelled[b]
        regression = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        regression.fit(encoder.transform([X[i] for i in held]), codes[held])
        out += regression.predict_proba(encoder.transform(test)) / folds
    return out


@pytest.mark.parametrize("folds", [1, 3])
def test_classifier_cross_fitting_against_the_steps_by_hand(folds):
    from greedy_rae.sklearn import RAEClassifier

    X, y = two_classes(7, count=24, labels=("calm", "loud"))
    y = np.where(np.arange(24) % 6 == 0, "?", y)  # four unlabelled sequences
    test = two_classes(8, count=10)[0]
    clf = RAEClassifier(epochs=2, random_state=3, cv=folds, unlabelled="?").fit(X, y)
    assert len(clf.encoders_) == len(clf.regressions_) == folds
    assert clf.encoder_ is clf.encoders_[0] and list(clf.classes_) == ["calm", "loud"]
    if folds == 1:
        # one RAE on every sequence, its regression on the labelled ones' features
        from greedy_rae.sklearn import RAEEncoder
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        codes = np.array([{"calm": 0, "loud": 1}.get(v, -1) for v in y])
        encoder = RAEEncoder(epochs=2, random_state=3, unlabelled=-1).fit(X, codes)
        known = codes >= 0
        regression = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        regression.fit(encoder.transform([x for x, k in zip(X, known) if k]), codes[known])
        expected = regression.predict_proba(encoder.transform(test))
    else:
        expected = reference_cross_fit(X, y, test, folds, 3, "?")
    np.testing.assert_allclose(clf.predict_proba(test), expected, rtol=1e-6, atol=1e-9)
    assert clf.predict(test).tolist() == [["calm", "loud"][k] for k in expected.argmax(axis=1)]
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(test), clf.predict_proba(test))


def test_classifier_cv_resolves_by_text_and_says_what_is_wrong():
    from greedy_rae.sklearn import RAEClassifier

    X, y = two_classes(9, count=8)
    # cv=None: one RAE for vectors; three cross-fitted for texts
    assert len(RAEClassifier(epochs=1, random_state=0).fit(X, y).encoders_) == 1
    texts = ["a good film", "a bad film", "good fun", "bad acting", "so good", "so bad"]
    clf = RAEClassifier(text=True, dim=4, epochs=1, random_state=0).fit(texts, [1, 0] * 3)
    assert len(clf.encoders_) == 3 and clf.predict(["good film"]).shape == (1,)
    with pytest.raises(ValueError, match="cv=3 needs at least 3 labelled sequences"):
        RAEClassifier(text=True, dim=4, epochs=1).fit(texts[:5], [1, 0, 1, 0, 1])
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(ValueError, match="cv must be a whole number >= 1"):
            RAEClassifier(epochs=1, cv=bad).fit(X, y)
    y_few = np.array([0] * 6 + [1] * 2)
    with pytest.raises(ValueError, match="cv=3 needs at least 3 labelled sequences of every"):
        RAEClassifier(epochs=1, cv=3).fit(X, y_few)
    assert len(RAEClassifier(epochs=1, cv=2, random_state=0).fit(X, y_few).encoders_) == 2


def test_estimators_say_what_is_wrong_with_bad_input():
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder
    from sklearn.exceptions import NotFittedError

    X, y = two_classes(5, count=6)
    for est in (RAEEncoder(epochs=1), RAEClassifier(epochs=1)):
        with pytest.raises(NotFittedError):
            est.transform(X) if isinstance(est, RAEEncoder) else est.predict(X)
        with pytest.raises(ValueError, match="X mix widths \\[3, 4\\]"):
            est.fit(X[:-1] + [X[-1][:, :3]], y)
        bad = [x.copy() for x in X]
        bad[2][1, 0] = np.nan
        with pytest.raises(ValueError, match="X: sequence 2 contains NaN or inf"):
            est.fit(bad, y)
        with pytest.raises(ValueError, match="got a 1-D array.*Reshape your data"):
            est.fit(np.arange(12.0), y)
        with pytest.raises(ValueError, match="one label per sequence"):
            est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'"):
        RAEEncoder(epochs=1).fit(X, np.linspace(0.1, 0.9, 6))
    fitted = RAEEncoder(epochs=1).fit(X)
    with pytest.raises(ValueError, match="X have width 3 but the network expects width 4"):
        fitted.transform([x[:, :3] for x in X])


@pytest.mark.slow
def test_sklearn_check_estimator():
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder
    from sklearn.utils.estimator_checks import check_estimator

    for est in (RAEEncoder(epochs=1, random_state=0), RAEClassifier(epochs=1, random_state=0)):
        results = check_estimator(est, on_fail=None)
        assert len(results) > 40  # the whole suite ran
        failed = {
            r["check_name"]: str(r["exception"])[:300] for r in results if r["status"] == "failed"
        }
        assert failed == {}


def test_tables_are_rows_of_univariate_series():
    from greedy_rae.sklearn import RAEClassifier, RAEEncoder

    rng = np.random.default_rng(9)
    table = rng.normal(size=(16, 25))
    y = np.repeat([0, 1], 8)
    enc = RAEEncoder(epochs=2, random_state=0).fit(table, y)
    assert enc.window_ == 10 and enc.n_features_in_ == 25
    rows = [reference_windows(r[None, :], 10) for r in table]  # (3, 10) each: 0, 10, 15
    ref = RAEEncoder(epochs=2, random_state=0).fit(rows, y)
    np.testing.assert_allclose(enc.transform(table), ref.transform(rows), rtol=1e-5)
    np.testing.assert_allclose(enc.transform(table.tolist()), ref.transform(rows), rtol=1e-5)
    assert RAEEncoder(epochs=1, window=4).fit(table).window_ == 4
    assert RAEEncoder(epochs=1).fit(table[:, :6]).window_ == 6  # rows shorter than 10
    with pytest.raises(ValueError, match="X has 24 features, but RAEEncoder is expecting 25"):
        enc.transform(table[:, :24])
    with pytest.raises(ValueError, match="fitted on a list of sequences"):
        ref.transform(table)
    with pytest.raises(ValueError, match="X's rows have different lengths \\(24, 25\\)"):
        RAEEncoder(epochs=1).fit([table[0], table[1][:24]])
    clf = RAEClassifier(epochs=2, random_state=0).fit(table, y)
    assert clf.n_features_in_ == 25 and clf.predict(table).shape == (16,)


def failures(results):
    return {name: str(result)[:300] for name, result in results.items() if result != "PASSED"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["RAETransformer", "RAEClassifier"])
def test_sktime_check_estimator(name):
    from greedy_rae import sktime as ours
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(getattr(ours, name), raise_exceptions=False)
    assert len(results) > 100  # the whole suite ran
    assert failures(results) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["RAETransformer", "RAEClassifier"])
def test_aeon_check_estimator(name):
    from aeon.testing.estimator_checking import check_estimator
    from greedy_rae import aeon as ours

    results = check_estimator(getattr(ours, name), raise_exceptions=False)
    assert len(results) > 20
    assert failures(results) == {}


@pytest.mark.slow
def test_sktime_estimators_on_panels_of_every_kind():
    import pandas as pd
    from greedy_rae.sktime import RAEClassifier, RAETransformer
    from sktime.datatypes import convert_to

    X, y = two_classes(6, count=12)  # unequal lengths, 4 channels
    frames = [pd.DataFrame(x) for x in X]
    multi = convert_to(frames, to_type="pd-multiindex")
    nested = convert_to(frames, to_type="nested_univ")
    features = RAETransformer(epochs=2, random_state=0).fit(frames, y).transform(frames)
    assert features.shape == (12, 12)
    for panel in (multi, nested):
        again = RAETransformer(epochs=2, random_state=0).fit(panel, y).transform(panel)
        np.testing.assert_allclose(np.asarray(again), np.asarray(features), rtol=1e-6)
    clf = RAEClassifier(epochs=2, random_state=0).fit(multi, y)
    assert clf.predict_proba(multi).shape == (12, 2)
    # equal lengths: 3-D numpy (instances, channels, time) is each series transposed
    equal = np.stack([x[:3].T for x in X])
    a = RAETransformer(epochs=1, random_state=0).fit_transform(equal, y)
    b = RAETransformer(epochs=1, random_state=0).fit_transform([pd.DataFrame(x[:3]) for x in X], y)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    # the ecosystem's errors: NaN, mixed widths, not fitted
    with_nan = equal.copy()
    with_nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        RAEClassifier(epochs=1).fit(with_nan, y)
    with pytest.raises(ValueError):
        RAETransformer(epochs=1).fit(frames[:-1] + [frames[-1].iloc[:, :3]], y)
    from sktime.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RAEClassifier().predict(equal)


def reference_windows(series, width):
    """(channels, time) -> leaves of `width` time points of every channel,
    channel by channel; the last window ends at the series' end."""
    channels, n = series.shape
    starts = [i * width for i in range(n // width)]
    if n % width:
        starts.append(n - width)
    return np.array(
        [[series[c, t + j] for c in range(channels) for j in range(width)] for t in starts]
    )


@pytest.mark.slow
@pytest.mark.parametrize("library", ["sktime", "aeon"])
def test_panel_estimators_cut_series_into_windows(library):
    import importlib

    from greedy_rae.sklearn import RAEEncoder

    ours = importlib.import_module(f"greedy_rae.{library}")
    rng = np.random.default_rng(8)
    y = np.repeat(["a", "b"], 6)
    univariate = rng.normal(size=(12, 1, 37))  # default: windows of 10, the last overlapping
    t = ours.RAETransformer(epochs=2, random_state=0).fit(univariate, y)
    assert t.window_ == 10
    reference = RAEEncoder(epochs=2, random_state=0).fit(
        [reference_windows(s, 10) for s in univariate], y
    )
    np.testing.assert_allclose(
        np.asarray(t.transform(univariate)),
        reference.transform([reference_windows(s, 10) for s in univariate]),
        rtol=1e-5,
    )
    two = rng.normal(size=(12, 2, 9))  # multivariate: one time point a leaf, unless told
    assert ours.RAETransformer(epochs=1, random_state=0).fit(two, y).window_ == 1
    t = ours.RAETransformer(epochs=2, random_state=0, window=4).fit(two, y)
    reference = RAEEncoder(epochs=2, random_state=0).fit([reference_windows(s, 4) for s in two], y)
    np.testing.assert_allclose(
        np.asarray(t.transform(two)),
        reference.transform([reference_windows(s, 4) for s in two]),
        rtol=1e-5,
    )
    # a series shorter than the window is one leaf, padded with its last value
    short = ours.RAETransformer(epochs=1, random_state=0, window=20).fit(two, y)
    assert np.asarray(short.transform(two)).shape == (12, 3 * 40)
    with pytest.raises(ValueError, match="window must be"):
        ours.RAETransformer(window=0).fit(two, y)
