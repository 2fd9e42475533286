"""MixtureOfFactorAnalysers: one analyser is factor analysis, clusters recovered with
missing entries, BIC over (K, q) finds the simulated model, EM never falls."""

import numpy as np
import pytest

from emapps.factors import FactorAnalysis, MixtureOfFactorAnalysers


def clustered(n=2400, n_features=12, n_factors=2, n_components=3, missing=0.1, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.choice(n_components, size=n, p=[0.5, 0.3, 0.2][:n_components])
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    loadings = rng.normal(size=(n_components, n_features, n_factors))
    noise = rng.uniform(0.2, 0.6, size=(n_components, n_features))
    z = rng.normal(size=(n, n_factors))
    X = (centres[truth] + np.einsum("ndq,nq->nd", loadings[truth], z)
         + rng.normal(size=(n, n_features)) * np.sqrt(noise[truth]))
    X[rng.random(X.shape) < missing] = np.nan
    return X, truth


def test_one_analyser_is_factor_analysis():
    X, _ = clustered(n=600, missing=0.1, seed=1)
    mixture = MixtureOfFactorAnalysers(1, n_factors=2, n_init=1, random_state=0).fit(X)
    single = FactorAnalysis(2, random_state=0).fit(X)
    assert mixture.loglik_ == pytest.approx(single.loglik_, rel=1e-9)
    assert mixture.n_parameters_ == single.n_parameters_


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_clusters_and_bic_over_components_and_factors():
    from sklearn.metrics import adjusted_rand_score

    X, truth = clustered(n=1200)
    bic = {}
    for k, q in ((2, 2), (3, 2), (4, 2), (3, 1), (3, 3)):
        model = MixtureOfFactorAnalysers(k, n_factors=q, n_init=5, max_iter=150,
                                         random_state=0).fit(X)
        bic[k, q] = model.bic(X)
        if (k, q) == (3, 2):
            assert model.converged_
            assert adjusted_rand_score(truth, model.predict(X)) > 0.95
            np.testing.assert_allclose(model.weights_, [0.5, 0.3, 0.2], atol=0.04)
    assert min(bic, key=bic.get) == (3, 2)


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_plain_em_never_lowers_the_likelihood():
    X, _ = clustered(n=800, seed=2)
    model = MixtureOfFactorAnalysers(3, n_factors=2, n_init=1, accelerate=None, max_iter=150,
                                     random_state=1).fit(X)
    trace = np.asarray(model.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


def test_mixture_fit_with_factors_saves_a_model_mixture_predict_reads(tmp_path, capsys):
    from ..conftest import DATA, run_cli

    model = tmp_path / "m.npz"
    status, out, err = run_cli(capsys, "mixture", "fit", DATA / "tabular" / "airquality.csv",
                               "--columns", "Ozone,Solar.R,Wind,Temp", "-k", "1..2",
                               "--factors", "1", "--seed", "1", "-q", "-o", model)
    assert status == 0, err
    rows = [line.split() for line in out.splitlines()[1:3]]
    assert [row[1] for row in rows] == ["factors=1", "factors=1"]
    assert [row[3] for row in rows] == ["12", "25"]   # 2 D + D q per component, K - 1 shares
    assert "chosen: K=" in out and "covariance=factors=1" in out
    status, out, err = run_cli(capsys, "mixture", "predict", model,
                               DATA / "tabular" / "airquality.csv")
    assert status == 0 and len(out.splitlines()) == 154, err
    status, _, err = run_cli(capsys, "mixture", "fit", DATA / "tabular" / "airquality.csv",
                             "--factors", "1", "--bootstrap", "5", "-q")
    assert status == 2 and "--factors runs in memory" in err


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_shared_noise_variances():
    X, truth = clustered(n=1200, seed=3)
    shared = MixtureOfFactorAnalysers(3, n_factors=2, noise="shared", n_init=3,
                                      random_state=0).fit(X)
    own = MixtureOfFactorAnalysers(3, n_factors=2, n_init=3, random_state=0).fit(X)
    assert np.allclose(shared.noise_variance_, shared.noise_variance_[0])
    assert shared.n_parameters_ == own.n_parameters_ - 2 * 12
    assert shared.loglik_ < own.loglik_   # the simulated noise differs by component
    plain = MixtureOfFactorAnalysers(3, n_factors=2, noise="shared", n_init=1,
                                     accelerate=None, max_iter=100, random_state=1).fit(X)
    trace = np.asarray(plain.trace_)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
