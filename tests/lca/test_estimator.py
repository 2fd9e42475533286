"""LatentClassModel: standard errors, missing answers, text answers, bad input, threads
and scikit-learn's contract."""

import numpy as np
import pytest

from emapps.em.driver import e_step
from emapps.errors import UserInputError
from emapps.io.tables import read_table
from emapps.lca import LatentClassModel
from emapps.lca.information import from_logits, observed_information, to_logits
from emapps.lca.model import LatentClassEM, LatentClassParams
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


def test_observed_information_is_minus_the_hessian_of_the_log_likelihood():
    """Against second differences of the log-likelihood itself (values, K=2)."""
    X = dataset("values")
    fitted = LatentClassModel(2, n_init=5, random_state=0).fit(X)
    model = LatentClassEM(fitted.offsets_, 2)
    data = responses(fitted._codes(X), fitted.offsets_)
    params = LatentClassParams(fitted.weights_, fitted.answer_probabilities_)
    theta = to_logits(params, fitted.offsets_)

    def loglik(point):
        return e_step(model, from_logits(point, fitted.offsets_, 2), [data])["loglik"]

    h, size = 1e-4, theta.shape[0]
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            a, b = np.eye(size)[i] * h, np.eye(size)[j] * h
            hessian[i, j] = (loglik(theta + a + b) - loglik(theta + a - b)
                             - loglik(theta - a + b) + loglik(theta - a - b)) / (4 * h * h)
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
    with pytest.raises(UserInputError, match="items; the model was fitted on 7"):
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
