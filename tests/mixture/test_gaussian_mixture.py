import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emapps import GaussianMixture
from emapps.errors import ConvergenceWarning, DegenerateModelError, UserInputError

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def three_clusters(seed=0, n_rows=1500):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 6.0]])
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]])
    labels = rng.integers(3, size=n_rows)
    return means[labels] + rng.multivariate_normal(np.zeros(3), cov, n_rows), labels, means, cov


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_likelihood_never_decreases_one_iteration_at_a_time(faithful, covariance_type):
    model = GaussianMixture(3, covariance_type=covariance_type, max_iter=1, warm_start=True,
                            random_state=0, init_params="random")
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(60):
            bounds.append(model.fit(faithful).lower_bound_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[:-1]))
    assert bounds[-1] > bounds[0]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_is_the_mixture_density(covariance_type):
    X, *_ = three_clusters()
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=1).fit(X)
    cov = model.covariances_
    full = {"full": lambda: cov, "tied": lambda: [cov] * 3,
            "diag": lambda: [np.diag(c) for c in cov],
            "spherical": lambda: [np.eye(3) * c for c in cov]}[covariance_type]()
    expected = logsumexp([np.log(w) + multivariate_normal(m, c).logpdf(X)
                          for w, m, c in zip(model.weights_, model.means_, full)], axis=0)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    assert model.score(X) == pytest.approx(expected.mean())


def test_recovers_known_parameters_and_labels():
    X, labels, means, cov = three_clusters(n_rows=6000)
    model = GaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    order = [int(np.argmin(((model.means_ - m) ** 2).sum(axis=1))) for m in means]
    np.testing.assert_allclose(model.means_[order], means, atol=0.08)
    np.testing.assert_allclose(model.covariances_[order], [cov] * 3, atol=0.12)
    agreement = np.mean(np.array(order)[labels] == model.predict(X))
    assert agreement > 0.99


def test_same_seed_same_fit_bitwise():
    X, *_ = three_clusters(2)
    first = GaussianMixture(3, n_init=3, random_state=123).fit(X)
    again = GaussianMixture(3, n_init=3, random_state=123).fit(X)
    assert np.array_equal(first.means_, again.means_)
    assert first.lower_bounds_ == again.lower_bounds_
    assert first.seed_ == 123


def test_one_and_two_threads_give_identical_fits(threads):
    X, *_ = three_clusters(3, n_rows=40000)
    threads(1)
    one = GaussianMixture(3, random_state=5).fit(X)
    threads(2)
    two = GaussianMixture(3, random_state=5).fit(X)
    assert np.array_equal(one.means_, two.means_)
    assert np.array_equal(one.covariances_, two.covariances_)
    assert one.lower_bounds_ == two.lower_bounds_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_sample_weights_equal_repeated_rows(covariance_type):
    X, *_ = three_clusters(4, n_rows=300)
    counts = np.random.default_rng(0).integers(0, 4, size=len(X))
    repeated = np.repeat(X, counts, axis=0)
    precisions = {"full": np.array([np.eye(3)] * 3), "tied": np.eye(3),
                  "diag": np.ones((3, 3)), "spherical": np.ones(3)}[covariance_type]
    init = dict(means_init=X[:3], weights_init=np.full(3, 1 / 3), precisions_init=precisions)
    settings = dict(covariance_type=covariance_type, tol=1e-10, max_iter=300, accelerate=None)
    weighted = GaussianMixture(3, **settings, **init).fit(X, sample_weight=counts.astype(float))
    plain = GaussianMixture(3, **settings, **init).fit(repeated)
    np.testing.assert_allclose(weighted.means_, plain.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.covariances_, plain.covariances_, rtol=1e-8)
    assert weighted.lower_bound_ == pytest.approx(plain.lower_bound_, rel=1e-10)


def test_float32_input_matches_float64():
    X, *_ = three_clusters(5)
    single = GaussianMixture(3, random_state=0, tol=1e-8).fit(X.astype(np.float32))
    double = GaussianMixture(3, random_state=0, tol=1e-8).fit(X.astype(np.float32).astype(float))
    np.testing.assert_allclose(single.means_, double.means_, rtol=1e-9)
    assert single.n_iter_ == double.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_squarem_reaches_the_plain_em_optimum(faithful, covariance_type):
    settings = dict(covariance_type=covariance_type, tol=1e-12, max_iter=5000, random_state=2)
    plain = GaussianMixture(3, **settings).fit(faithful)
    fast = GaussianMixture(3, accelerate="squarem", **settings).fit(faithful)
    assert fast.lower_bound_ == pytest.approx(plain.lower_bound_, abs=1e-8)
    assert fast.result_.n_estep <= plain.result_.n_estep


def test_missing_values_recover_known_parameters_and_impute_better_than_means():
    X, labels, means, cov = three_clusters(6, n_rows=6000)
    rng = np.random.default_rng(1)
    mask = rng.random(X.shape) < 0.25
    mask[mask.all(axis=1), 0] = False
    holes = X.copy()
    holes[mask] = np.nan
    model = GaussianMixture(3, random_state=0, tol=1e-8, max_iter=500).fit(holes)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)
    order = [int(np.argmin(((model.means_ - m) ** 2).sum(axis=1))) for m in means]
    np.testing.assert_allclose(model.means_[order], means, atol=0.1)
    np.testing.assert_allclose(model.covariances_[order], [cov] * 3, atol=0.15)
    filled = model.impute(holes)
    assert not np.isnan(filled).any() and np.array_equal(filled[~mask], X[~mask])
    column_means = np.nanmean(holes, axis=0)[np.nonzero(mask)[1]]
    assert np.sqrt(np.mean((filled[mask] - X[mask]) ** 2)) < 0.7 * np.sqrt(
        np.mean((column_means - X[mask]) ** 2))


def test_missing_value_likelihood_is_the_marginal_density():
    X, *_ = three_clusters(7, n_rows=400)
    holes = X.copy()
    holes[::3, 1] = np.nan
    holes[1::6, [0, 2]] = np.nan
    model = GaussianMixture(2, random_state=0, max_iter=5).fit(holes)
    expected = []
    for row in holes:
        seen = ~np.isnan(row)
        expected.append(logsumexp([np.log(w) + multivariate_normal(m[seen], c[np.ix_(seen, seen)])
                                   .logpdf(row[seen]) for w, m, c in
                                   zip(model.weights_, model.means_, model.covariances_)]))
    np.testing.assert_allclose(model.score_samples(holes), expected, rtol=1e-10)


def test_airquality_with_real_missing_values(airquality):
    X = airquality[:, :4]
    model = GaussianMixture(2, random_state=0, tol=1e-8, max_iter=1000).fit(X)
    assert model.converged_ and np.all(np.diff(model.lower_bounds_) >= -1e-12)
    assert not np.isnan(model.impute(X)).any()
    # hide every fourth observed ozone value: the model predicts it better than the mean
    known = np.flatnonzero(~np.isnan(X[:, 0]))[::4]
    hidden = X.copy()
    hidden[known, 0] = np.nan
    refit = GaussianMixture(2, random_state=0, tol=1e-8, max_iter=1000).fit(hidden)
    error = refit.impute(hidden)[known, 0] - X[known, 0]
    baseline = np.nanmean(hidden[:, 0]) - X[known, 0]
    assert np.sqrt(np.mean(error ** 2)) < 0.8 * np.sqrt(np.mean(baseline ** 2))


def test_degenerate_covariance_says_what_to_change():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]), 20, axis=0)
    with pytest.raises(DegenerateModelError, match="reg_covar"):
        GaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)
    GaussianMixture(3, reg_covar=1e-3, random_state=0).fit(X)


@pytest.mark.parametrize("settings, message", [
    ({"n_components": 0}, "n_components"),
    ({"covariance_type": "banana"}, "covariance_type"),
    ({"init_params": "magic"}, "init_params"),
    ({"tol": -1}, "tol"),
    ({"n_components": 50}, "larger than the number of rows"),
    ({"means_init": np.zeros((2, 3))}, "means_init"),
    ({"weights_init": [0.9, 0.9]}, "weights_init"),
])
def test_bad_settings_raise_clear_errors(faithful, settings, message):
    params = {"n_components": 2, **settings}
    with pytest.raises(UserInputError, match=message):
        GaussianMixture(**params).fit(faithful[:40])


def test_bad_data_raises_clear_errors():
    with pytest.raises(UserInputError, match="row 1 has no observed"):
        GaussianMixture(1).fit(np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 1.0]]))
    with pytest.raises(UserInputError, match="infinite value at row 0"):
        GaussianMixture(1).fit(np.array([[np.inf, 2.0], [1.0, 1.0]]))
    with pytest.raises(UserInputError, match="2-D"):
        GaussianMixture(1).fit(np.arange(5.0))
    with pytest.raises(UserInputError, match="not fitted"):
        GaussianMixture(1).predict(np.zeros((2, 2)))


def test_sample_and_information_criteria(faithful):
    model = GaussianMixture(2, random_state=0).fit(faithful)
    X, labels = model.sample(500, random_state=1)
    assert X.shape == (500, 2) and set(labels) <= {0, 1}
    assert np.array_equal(model.sample(10, random_state=3)[0], model.sample(10, random_state=3)[0])
    n, p = len(faithful), 11
    loglik = model.score(faithful) * n
    assert model.bic(faithful) == pytest.approx(-2 * loglik + p * np.log(n))
    assert model.aic(faithful) == pytest.approx(-2 * loglik + 2 * p)
    assert model.icl(faithful) >= model.bic(faithful)
    best = model.predict_proba(faithful).max(axis=1)  # the log-joint route, independently
    assert model.icl(faithful) == pytest.approx(model.bic(faithful) - 2 * np.log(best).sum(),
                                                rel=1e-10)


def test_fit_predict_and_run_record(faithful):
    model = GaussianMixture(2, random_state=4)
    labels = model.fit_predict(faithful)
    np.testing.assert_array_equal(labels, model.predict(faithful))
    record = model.run_record()
    assert record["settings"]["n_components"] == 2 and record["seed"] == 4
    assert len(record["trace"]) == model.n_iter_


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_selection_table_agrees_with_the_models_criteria(airquality, covariance_type):
    from emapps.mixture.selection import select_model
    X = airquality[:, :4]  # with real missing values
    selection = select_model(X, [1, 2, 3], [covariance_type], "icl", random_state=0,
                             tol=1e-6, max_iter=500)
    for row in selection.rows:
        model = selection.models[(row["k"], row["covariance"])]
        assert row["loglik"] == pytest.approx(model.score(X) * len(X), rel=1e-10)
        assert row["bic"] == pytest.approx(model.bic(X), rel=1e-10)
        assert row["aic"] == pytest.approx(model.aic(X), rel=1e-10)
        assert row["icl"] == pytest.approx(model.icl(X), rel=1e-10)
    assert selection.best_row["icl"] == min(row["icl"] for row in selection.rows)
