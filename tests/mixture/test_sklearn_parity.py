"""Same start, same answer: emapps.GaussianMixture against sklearn.mixture.GaussianMixture."""

import warnings

import numpy as np
import pytest

from emapps import GaussianMixture

sklearn_mixture = pytest.importorskip("sklearn.mixture", reason="scikit-learn is in the test extra")


def generated():
    rng = np.random.default_rng(42)
    centres = rng.normal(scale=4, size=(3, 5))
    return np.vstack([rng.multivariate_normal(c, np.diag(rng.uniform(0.5, 2, 5)), 400)
                      for c in centres])


def datasets(faithful, airquality):
    complete = airquality[~np.isnan(airquality).any(axis=1)][:, :4]
    return {"faithful": faithful, "airquality": complete, "generated": generated()}


def start(X, n_components, covariance_type, seed):
    """A shared start: data rows as means, the data covariance shrunk for every component."""
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), n_components, replace=False)]
    cov = np.cov(X.T) / n_components
    precision = np.linalg.inv(cov)
    precisions = {"full": np.repeat(precision[None], n_components, axis=0),
                  "tied": precision,
                  "diag": np.repeat(np.diag(precision)[None], n_components, axis=0),
                  "spherical": np.full(n_components, np.mean(np.diag(precision)))}
    return dict(weights_init=np.full(n_components, 1 / n_components), means_init=means,
                precisions_init=precisions[covariance_type])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("name", ["faithful", "airquality", "generated"])
@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_same_iterations_and_lower_bound(faithful, airquality, name, covariance_type, tol):
    X = datasets(faithful, airquality)[name]
    init = start(X, 3, covariance_type, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sklearn_mixture.GaussianMixture(3, covariance_type=covariance_type, tol=tol,
                                                 max_iter=1000, **init).fit(X)
        ours = GaussianMixture(3, covariance_type=covariance_type, tol=tol, max_iter=1000,
                               accelerate=None, **init).fit(X)   # plain EM, as theirs
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
    scale = np.abs(X).max()
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-9 * scale)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-6,
                               atol=1e-9 * scale ** 2)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-9)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-9)


def test_default_kmeans_fit_finds_sklearns_optimum(faithful):
    ours = GaussianMixture(2, random_state=0, tol=1e-8).fit(faithful)
    theirs = sklearn_mixture.GaussianMixture(2, random_state=0, tol=1e-8).fit(faithful)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)
    order = np.argsort(ours.means_[:, 0]), np.argsort(theirs.means_[:, 0])
    np.testing.assert_allclose(ours.means_[order[0]], theirs.means_[order[1]], rtol=1e-6)
