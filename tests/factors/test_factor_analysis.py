"""FactorAnalysis by EM: scikit-learn's maximum on complete data, exact marginal
likelihoods and monotone EM with missing values, threads, scikit-learn's contract."""

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.factors import FactorAnalysis


def factor_data(n=1500, n_features=10, n_factors=3, seed=0):
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(n_features, n_factors))
    noise = rng.uniform(0.3, 1.5, n_features)
    X = rng.normal(size=(n, n_factors)) @ loadings.T + rng.normal(size=(n, n_features)) * noise
    return X + 5.0


@pytest.mark.parametrize("n_factors", [1, 3])
def test_complete_data_reach_scikit_learns_maximum(n_factors):
    from sklearn.decomposition import FactorAnalysis as Reference

    X = factor_data()
    reference = Reference(n_factors, tol=1e-12, max_iter=100_000, svd_method="lapack").fit(X)
    ours = FactorAnalysis(n_factors, random_state=0).fit(X)
    assert ours.converged_
    assert ours.loglik_ == pytest.approx(reference.score(X) * X.shape[0], rel=1e-8)
    np.testing.assert_allclose(ours.get_covariance(), reference.get_covariance(), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(ours.noise_variance_, reference.noise_variance_, rtol=1e-4)


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_missing_entries_drop_out_of_each_rows_likelihood():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    X = factor_data(n=800, seed=1)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[3] = np.nan
    X[3, 4] = 7.0   # one observed entry
    model = FactorAnalysis(3, accelerate=None, max_iter=400, tol=1e-10, random_state=0).fit(X)
    assert np.all(np.diff(model.trace_) >= -1e-9 * np.abs(np.asarray(model.trace_[1:])))
    covariance = model.get_covariance()
    scores = model.score_samples(X)
    for row in (0, 3, 10, 500):
        seen = ~np.isnan(X[row])
        exact = multivariate_normal(model.mean_[seen], covariance[np.ix_(seen, seen)]).logpdf(
            X[row, seen])
        assert scores[row] == pytest.approx(exact, rel=1e-10)
    assert scores.sum() == pytest.approx(model.score(X) * X.shape[0], rel=1e-12)


def test_imputation_beats_column_means():
    rng = np.random.default_rng(2)
    truth = factor_data(n=1500, seed=2)
    X = truth.copy()
    hidden = rng.random(X.shape) < 0.15
    X[hidden] = np.nan
    filled = FactorAnalysis(3, random_state=0).fit(X).impute(X)
    means = np.where(hidden, np.nanmean(X, axis=0), X)
    error = np.sqrt(np.mean((filled - truth)[hidden] ** 2))
    baseline = np.sqrt(np.mean((means - truth)[hidden] ** 2))
    assert error < 0.75 * baseline
    assert np.array_equal(filled[~hidden], truth[~hidden])


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_one_and_two_threads_give_the_same_bits(threads):
    X = factor_data(n=40_000, seed=3)
    X[np.random.default_rng(3).random(X.shape) < 0.1] = np.nan
    fits = []
    for count in (1, 2):
        threads(count)
        model = FactorAnalysis(2, max_iter=30, tol=0, random_state=0).fit(X)
        fits.append((model.loglik_, model.components_.tobytes(), model.transform(X).tobytes()))
    assert fits[0] == fits[1]


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_scikit_learns_contract_and_bad_input():
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    X = factor_data(n=600, seed=4)
    model = FactorAnalysis(2, random_state=0)
    assert clone(model).get_params() == model.get_params()
    pipeline = Pipeline([("factors", FactorAnalysis(3, random_state=0)),
                         ("regression", LinearRegression())]).fit(X, X[:, 0])
    assert pipeline.predict(X).shape == (600,)
    search = GridSearchCV(FactorAnalysis(max_iter=2000, random_state=0),
                          {"n_components": [1, 2, 3, 4]}, cv=3).fit(X)
    assert search.best_params_["n_components"] >= 3   # held-out likelihood finds the factors
    with pytest.raises(UserInputError, match="the number of factors must be smaller than the 10"):
        FactorAnalysis(10).fit(X)
    bad = X.copy()
    bad[1:, 2] = np.nan
    with pytest.raises(UserInputError, match="column\\(s\\) 2 have fewer than 2 observed"):
        FactorAnalysis(2).fit(bad)
