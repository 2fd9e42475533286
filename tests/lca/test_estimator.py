"""LatentClassModel: standard errors, missing answers, text answers, bad input, threads
and scikit-learn's contract."""

import numpy as np
import pytest

from emapps.em.driver import e_step
from emapps.errors import UserInputError
from emapps.io.tables import read_table
from emapps.lca import LatentClassModel
from emapps.lca.information import from_logits, observed_information, to_logits
from emapps.lca.model import LatentClassEM
from emapps.lca.responses import responses

from ..conftest import DATA


def dataset(name):
    return read_table(str(DATA / "lca" / f"{name}.csv"))[0]


def simulated(n=3000, n_items=8, n_classes=3, categories=3, missing=0.1, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_classes, 4.0))
    probs = rng.dirichlet(np.full(categories, 0.5), size=(n_items, n_classes))
    truth = rng.choice(n_classes, size=n, p=weights)
    u = rng.random((n, n_items, 1))
    X = (u > np.cumsum(probs[np.arange(n_items)[None, :], truth[:, None]], axis=2)) \
        .sum(axis=2).astype(float) + 1
    X[rng.random(X.shape) < missing] = np.nan
    return X, truth


def second_differences(function, point, h=1e-4) -> np.ndarray:
    """The Hessian of ``function`` at ``point`` by central second differences."""
    size = point.shape[0]
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            a, b = np.eye(size)[i] * h, np.eye(size)[j] * h
            hessian[i, j] = (function(point + a + b) - function(point + a - b)
                             - function(point - a + b) + function(point - a - b)) / (4 * h * h)
    return hessian


def test_observed_information_is_minus_the_hessian_of_the_log_likelihood():
    """Against second differences of the log-likelihood itself (values, K=2)."""
    X = dataset("values")
    fitted = LatentClassModel(2, n_init=5, random_state=0).fit(X)
    model = LatentClassEM(fitted.offsets_, 2)
    data = responses(fitted._indicators(fitted._columns(X))[0], fitted.offsets_)
    params = fitted.params_
    theta = to_logits(params, fitted.offsets_)

    def loglik(point):
        return e_step(model, from_logits(point, fitted.offsets_, params), [data])["loglik"]

    hessian = second_differences(loglik, theta)
    information = observed_information(model, data, params)
    assert np.max(np.abs(information + hessian)) <= 1e-5 * np.max(np.abs(hessian))
    errors = fitted.standard_errors(X)
    assert errors["weights"].shape == (2,) and np.all(errors["weights"] > 0)
    assert [e.shape for e in errors["probabilities"]] == [(2, 2)] * 4
    # the two answers of a binary item share one standard error
    np.testing.assert_allclose(errors["probabilities"][0][:, 0], errors["probabilities"][0][:, 1])


def test_a_respondent_with_no_answers_is_kept_with_the_shares_as_posterior():
    X, _ = simulated(n=500, seed=1)
    X[7] = np.nan
    model = LatentClassModel(3, n_init=3, random_state=0).fit(X)
    proba = model.predict_proba(X)
    assert proba.shape == (500, 3)
    np.testing.assert_allclose(proba[7], model.weights_, rtol=1e-12)
    assert model.score_samples(X)[7] == pytest.approx(0.0, abs=1e-12)


def test_text_answers_fit_as_their_codes_do():
    X = dataset("gss82")
    labels = np.array([["good", "depends", "waste"], ["true", "not", "-"],
                       ["good", "fair", "-"], ["interested", "cooperative", "impatient"]])
    text = np.empty(X.shape, dtype=object)
    for j in range(X.shape[1]):
        # alphabetical order of the labels differs from the codes' order
        text[:, j] = labels[j][X[:, j].astype(int) - 1]
    by_code = LatentClassModel(3, n_init=5, random_state=4).fit(X)
    by_text = LatentClassModel(3, n_init=5, random_state=4).fit(text)
    assert by_text.loglik_ == pytest.approx(by_code.loglik_, rel=1e-9)
    np.testing.assert_allclose(by_text.weights_, by_code.weights_, atol=1e-6)
    assert list(by_text.categories_[0]) == ["depends", "good", "waste"]


def test_bad_input_is_one_clear_error():
    X = dataset("carcinoma")
    with pytest.warns(UserWarning, match="item item8 has one observed answer"):
        LatentClassModel(2, n_init=1, random_state=0).fit(np.column_stack([X, np.ones(118)]))
    model = LatentClassModel(2, n_init=2, random_state=0).fit(X)
    new = X[:3].copy()
    new[1, 2] = 3
    with pytest.raises(UserInputError, match=r"item item3: answer '3' was not seen"):
        model.predict(new)
    with pytest.raises(UserInputError, match="columns; the model was fitted on 7"):
        model.predict(X[:, :5])
    with pytest.raises(UserInputError, match="4 classes for 3 distinct answer patterns"):
        LatentClassModel(4).fit(np.array([[1, 1], [1, 2], [2, 2], [1, 1.0]]))
    with pytest.raises(UserInputError, match="item item2 has no observed answers"):
        LatentClassModel(2).fit(np.column_stack([X[:, 0], np.full(118, np.nan)]))
    with pytest.raises(UserInputError, match="n_components must be an integer >= 1"):
        LatentClassModel(0).fit(X)


def test_one_and_two_threads_give_the_same_bits(threads):
    X, truth = simulated(n=40_000, n_items=12, categories=4, seed=2)
    fits = []
    for count in (1, 2):
        threads(count)
        model = LatentClassModel(3, n_init=2, random_state=5).fit(X)
        fits.append((model.loglik_, model.answer_probabilities_.tobytes(),
                     model.predict_proba(X).tobytes()))
    assert fits[0] == fits[1]
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(truth, model.predict(X)) > 0.8


def test_scikit_learn_clones_pipelines_and_grid_searches_it():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline

    X, _ = simulated(n=2000, seed=3)
    model = LatentClassModel(2, n_init=2, random_state=0)
    assert clone(model).get_params() == model.get_params()
    labels = Pipeline([("lca", model)]).fit(X).predict(X)
    assert labels.shape == (2000,) and set(labels) <= {0, 1}
    search = GridSearchCV(LatentClassModel(n_init=2, random_state=0),
                          {"n_components": [1, 2, 3, 4]},
                          cv=KFold(3, shuffle=True, random_state=0)).fit(X)
    assert search.best_params_["n_components"] >= 3   # held-out likelihood finds the classes


def mixed_simulation(n=4000, seed=0):
    """Two classes: 5 binary items, a Gaussian measurement and a Poisson count, each with
    10% missing."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.35).astype(int)
    p_yes = np.array([[0.2, 0.8, 0.3, 0.7, 0.5], [0.9, 0.1, 0.8, 0.2, 0.6]])
    items = (rng.random((n, 5)) < p_yes[truth]).astype(float) + 1
    measure = rng.normal(np.array([10.0, 14.0])[truth], np.array([2.0, 1.0])[truth])
    count = rng.poisson(np.array([1.5, 6.0])[truth]).astype(float)
    X = np.column_stack([items, measure, count])
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, truth


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_measurements_and_counts_beside_items_recover_the_classes():
    from sklearn.metrics import adjusted_rand_score

    X, truth = mixed_simulation()
    model = LatentClassModel(2, continuous=[5], counts=[6], n_init=5, random_state=0).fit(X)
    assert adjusted_rand_score(truth, model.predict(X)) > 0.85
    assert model.n_parameters_ == 1 + 2 * 5 + 2 * 2 + 2
    np.testing.assert_allclose(model.weights_, [0.65, 0.35], atol=0.03)
    np.testing.assert_allclose(model.means_[:, 0], [10.0, 14.0], atol=0.2)
    np.testing.assert_allclose(np.sqrt(model.variances_[:, 0]), [2.0, 1.0], atol=0.15)
    np.testing.assert_allclose(model.rates_[:, 0], [1.5, 6.0], atol=0.2)
    plain = LatentClassModel(2, continuous=[5], counts=[6], n_init=1, accelerate=None,
                             max_iter=200, random_state=3).fit(X)
    assert np.all(np.diff(plain.trace_) >= -1e-9 * np.abs(plain.trace_[1:]))
    with pytest.raises(UserInputError, match="count item7 holds values that are not whole"):
        bad = X.copy()
        bad[0, 6] = 1.5
        LatentClassModel(2, continuous=[5], counts=[6]).fit(bad)
    with pytest.raises(UserInputError, match="column\\(s\\) item6 given more than once"):
        LatentClassModel(2, continuous=[5], counts=[5]).fit(X)
    with pytest.raises(UserInputError, match="standard errors cover models of categorical"):
        model.standard_errors(X)


def test_a_model_file_round_trips_every_kind_of_indicator(tmp_path):
    from emapps.lca.io import load_model, save_model

    X, _ = mixed_simulation(n=800, seed=1)
    model = LatentClassModel(2, continuous=[5], counts=[6], n_init=2, random_state=0).fit(X)
    save_model(tmp_path / "m.npz", model)
    loaded, meta = load_model(tmp_path / "m.npz")
    assert meta["continuous"] == ["item6"] and meta["counts"] == ["item7"]
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_latent_class_regression_finds_the_maximum_over_its_coefficients():
    """Election items with PARTY predicting class membership: at the fit the
    log-likelihood is flat in every coefficient (central differences), at least the
    no-covariate maximum, and plain EM with Newton M-steps never lowers it."""
    from emapps.lca.model import LatentClassEM, LatentClassParams
    from emapps.lca.responses import responses as build

    X, names = read_table(str(DATA / "lca" / "election.csv"))
    columns = ["MORALG", "CARESG", "KNOWG", "LEADG", "DISHONG", "INTELG", "MORALB", "CARESB",
               "KNOWB", "LEADB", "DISHONB", "INTELB", "PARTY"]
    X = X[:, [names.index(column) for column in columns]]
    X = X[~np.isnan(X[:, 12])]
    model = LatentClassModel(3, covariates=["PARTY"], n_init=10, random_state=1).fit(
        X, item_names=columns)
    assert model.n_parameters_ == 2 * 2 + 3 * 36 and model.coefficients_.shape == (2, 3)
    assert np.all(model.coefficients_[:, 0] == 0)
    plain = LatentClassModel(3, n_init=10, random_state=1).fit(X[:, :12])
    assert model.loglik_ > plain.loglik_ + 100   # party predicts the classes strongly
    codes, _, _, covariates = model._indicators(model._columns(X))
    data = build(codes, model.offsets_, covariates=covariates)
    em = LatentClassEM(model.offsets_, 3)
    base = model.params_

    def loglik(coefficients):
        params = LatentClassParams(base.weights, base.probs, base.means, base.variances,
                                   base.rates, coefficients)
        return em.e_step(params, data)["loglik"]

    assert loglik(base.coefficients) == pytest.approx(model.loglik_, rel=1e-12)
    for q in range(2):
        for k in (1, 2):
            step = np.zeros((2, 3))
            step[q, k] = 1e-5
            slope = (loglik(base.coefficients + step) - loglik(base.coefficients - step)) / 2e-5
            assert abs(slope) < 1e-2, (q, k, slope)
    steps = LatentClassModel(3, covariates=[12], n_init=1, accelerate=None, max_iter=150,
                             random_state=2)
    steps.fit(X)
    assert np.all(np.diff(steps.trace_) >= -1e-9 * np.abs(steps.trace_[1:]))
    with pytest.raises(UserInputError, match="covariate PARTY is missing for 25 respondents"):
        full = read_table(str(DATA / "lca" / "election.csv"))[0]
        LatentClassModel(2, covariates=[12]).fit(
            full[:, [names.index(column) for column in columns]], item_names=columns)



@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_three_step_with_the_ml_correction_recovers_the_one_step_coefficients():
    """Modal assignments err (entropy R2 about 0.63 here), so regressing them as they are
    shrinks the effects; the ML correction recovers what the one-step model estimates."""
    from emapps.lca.three_step import classification_errors, three_step

    rng = np.random.default_rng(0)
    n = 4000
    z = rng.normal(size=n)
    logits = np.array([0.0, -0.3, 0.2]) + np.outer(z, [0.0, 1.2, -1.0])
    prior = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    classes = (rng.random(n)[:, None] > np.cumsum(prior, axis=1)).sum(axis=1)
    yes = np.array([[0.8] * 6, [0.2] * 6, [0.8, 0.8, 0.8, 0.2, 0.2, 0.2]])
    X = (rng.random((n, 6)) < yes[classes]).astype(float) + 1
    measurement = LatentClassModel(3, n_init=10, random_state=0).fit(X)
    errors = classification_errors(measurement.predict_proba(X), measurement.predict(X))
    np.testing.assert_allclose(errors.sum(axis=1), 1.0)
    assert np.all(np.diag(errors) > 0.6)
    corrected = three_step(measurement, X, z, correction="ML")
    naive = three_step(measurement, X, z, correction="none")
    one_step = LatentClassModel(3, covariates=[6], n_init=10, random_state=0).fit(
        np.column_stack([X, z]))
    assert corrected.converged and corrected.coefficients.shape == (2, 3)
    np.testing.assert_allclose(corrected.coefficients[1], one_step.coefficients_[1], atol=0.15)
    assert np.all(np.abs(naive.coefficients[1, 1:]) < 0.7 * np.abs(corrected.coefficients[1, 1:]))
    with pytest.raises(UserInputError, match="correction must be one of ML, none"):
        three_step(measurement, X, z, correction="BCH")


def test_standard_errors_of_covariate_coefficients_come_from_the_exact_information():
    """Against second differences of the log-likelihood over (coefficients, item logits)."""
    from emapps.lca.responses import responses as build

    rng = np.random.default_rng(5)
    n = 1500
    z = rng.normal(size=n)
    second = rng.random(n) < 1 / (1 + np.exp(-(0.3 + 1.0 * z)))
    yes = np.where(second[:, None], 0.25, 0.8)
    X = np.column_stack([(rng.random((n, 5)) < yes).astype(float) + 1, z])
    fitted = LatentClassModel(2, covariates=[5], n_init=5, random_state=0).fit(X)
    codes, _, _, covariates = fitted._indicators(fitted._columns(X))
    data = build(codes, fitted.offsets_, covariates=covariates)
    model = LatentClassEM(fitted.offsets_, 2)
    params = fitted.params_
    theta = to_logits(params, fitted.offsets_)
    assert theta.shape == (2 + 2 * 5,)

    def loglik(point):
        return e_step(model, from_logits(point, fitted.offsets_, params), [data])["loglik"]

    hessian = second_differences(loglik, theta)
    information = observed_information(model, data, params)
    assert np.max(np.abs(information + hessian)) <= 1e-5 * np.max(np.abs(hessian))
    errors = fitted.standard_errors(X)
    assert errors["weights"] is None and errors["coefficients"].shape == (2, 2)
    assert np.all(errors["coefficients"][:, 0] == 0) and np.all(errors["coefficients"][:, 1] > 0)
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian))[:2])
    np.testing.assert_allclose(errors["coefficients"][:, 1], expected, rtol=1e-3)


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_bootstrap_errors_agree_with_the_observed_information():
    X, _ = simulated(n=2000, n_items=6, n_classes=2, categories=3, missing=0.05, seed=7)
    model = LatentClassModel(2, n_init=5, random_state=0).fit(X)
    analytic = model.standard_errors(X)
    resampled = model.bootstrap(X, n_boot=80, random_state=1)
    assert resampled["replicates"] == 80 and len(resampled["log_likelihoods"]) == 80
    ratio = resampled["weights"] / analytic["weights"]
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    inner = [(b / a)[(a > 0.01)] for a, b in zip(analytic["probabilities"],
                                                   resampled["probabilities"])]
    ratios = np.concatenate(inner)
    assert 0.8 < np.median(ratios) < 1.25, np.median(ratios)
    again = model.bootstrap(X, n_boot=3, random_state=1)
    assert np.array_equal(again["weights"], model.bootstrap(X, n_boot=3,
                                                            random_state=1)["weights"])
