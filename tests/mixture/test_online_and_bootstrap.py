import numpy as np
import pytest

from emapps import GaussianMixture
from emapps.errors import UserInputError
from emapps.mixture.covariance import recentre_stats
from tests.mixture.test_gaussian_mixture import three_clusters


@pytest.mark.parametrize("full", [True, False])
def test_recentred_statistics_equal_direct_ones(full):
    from emapps.kernels.gaussian import weighted_moments
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3)) + 7
    resp = rng.dirichlet(np.ones(2), size=500)
    old, new = rng.normal(size=(2, 3)), rng.normal(size=(2, 3)) + 7
    nk, sx, sxx = weighted_moments(X, resp, old, full, 128)
    moved = recentre_stats({"nk": nk, "sx": sx, "sxx": sxx}, old, new)
    direct = weighted_moments(X, resp, new, full, 128)
    np.testing.assert_allclose(moved["sx"], direct[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(moved["sxx"], direct[2], rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_online_em_approaches_the_batch_fit(covariance_type):
    X, labels, means, cov = three_clusters(0, n_rows=20000)
    online = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
    rng = np.random.default_rng(1)
    for epoch in range(2):
        for batch in np.array_split(rng.permutation(len(X)), 40):
            online.partial_fit(X[batch])
    batch_fit = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                tol=1e-8).fit(X)
    order = [int(np.argmin(((online.means_ - m) ** 2).sum(axis=1))) for m in batch_fit.means_]
    np.testing.assert_allclose(online.means_[order], batch_fit.means_, atol=0.05)
    assert online.score(X) == pytest.approx(batch_fit.score(X), abs=5e-3)
    assert online.n_iter_ == 80 and len(online.lower_bounds_) == 80


def test_online_em_takes_missing_values_and_checks_batches():
    X, *_ = three_clusters(1, n_rows=3000)
    X[::7, 1] = np.nan
    model = GaussianMixture(3, random_state=0)
    for batch in np.array_split(X, 10):
        model.partial_fit(batch)
    assert np.all(np.isfinite(model.means_))
    with pytest.raises(UserInputError, match="features"):
        model.partial_fit(X[:10, :2])
    with pytest.raises(UserInputError, match="learning_decay"):
        GaussianMixture(3, learning_decay=0.3).partial_fit(X[:100])


def test_bootstrap_standard_errors_shrink_like_one_over_root_n():
    rng = np.random.default_rng(2)
    means = np.array([[0.0, 0.0], [6.0, 0.0]])

    def draw(n):
        return means[rng.integers(2, size=n)] + rng.normal(size=(n, 2))

    small, large = draw(500), draw(4500)
    se = [GaussianMixture(2, random_state=0).fit(X).bootstrap(X, n_boot=30, random_state=1)
          for X in (small, large)]
    ratio = se[0].means_se.mean() / se[1].means_se.mean()
    assert 2.0 < ratio < 4.5  # sqrt(9) = 3
    # a component mean from ~250 unit-variance points: SE about 1 / sqrt(250)
    assert 0.03 < se[0].means_se.mean() < 0.12
    assert se[0].means.shape == (30, 2, 2) and se[0].covariances_se.shape == (2, 2, 2)


def test_bootstrap_is_reproducible(faithful):
    model = GaussianMixture(2, random_state=0).fit(faithful)
    first = model.bootstrap(faithful, n_boot=5, random_state=3)
    again = model.bootstrap(faithful, n_boot=5, random_state=3)
    np.testing.assert_array_equal(first.means, again.means)
