"""The same maxima, parameter counts and criteria as poLCA 1.6 (50 starts each), from
its stored fits; parameters equal where the maximum is one."""

import json
from pathlib import Path

import numpy as np
import pytest

from emapps.io.tables import read_table
from emapps.lca import LatentClassModel

from ..conftest import DATA

REFERENCE = json.loads((Path(__file__).parent / "polca_reference.json").read_text())["models"]


def answers(reference):
    X, names = read_table(str(DATA / "lca" / f"{reference['dataset']}.csv"))
    X = X[:, [names.index(item) for item in reference["items"]]]
    if reference["na.rm"]:   # poLCA's default: complete cases only
        X = X[~np.isnan(X).any(axis=1)]
    return X


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_best_of_50_starts_reaches_polcas_maximum(name):
    reference = REFERENCE[name]
    X = answers(reference)
    model = LatentClassModel(reference["nclass"], n_init=50, random_state=1).fit(X)
    assert X.shape[0] == reference["N"]
    assert reference["llik"] - 1e-6 <= model.loglik_ <= reference["llik"] + 1e-6
    assert model.n_parameters_ == reference["npar"]
    criteria = model.criteria()
    assert criteria["bic"] == pytest.approx(reference["bic"], abs=1e-5)
    assert criteria["aic"] == pytest.approx(reference["aic"], abs=1e-5)
    np.testing.assert_allclose(model.weights_, reference["class_shares_desc"], atol=2e-5)
    for j, item in enumerate(reference["items"]):
        np.testing.assert_allclose(model.probabilities_[j],
                                   np.array(reference["probs_by_item"][item]), atol=2e-4)
    assert model.starts_at_best_ >= 1 and model.converged_


@pytest.mark.filterwarnings("ignore::emapps.errors.ConvergenceWarning")
def test_plain_em_never_lowers_the_likelihood():
    X = answers(REFERENCE["election_3_fiml"])
    for seed in range(3):
        model = LatentClassModel(3, n_init=1, accelerate=None, max_iter=300,
                                 random_state=seed).fit(X)
        steps = np.diff(model.trace_)
        assert np.all(steps >= -1e-9 * np.abs(model.trace_[1:])), steps.min()


def test_a_mixed_model_reaches_stepmixs_maximum():
    """12 categorical items with missing answers and AGE as a Gaussian measurement (9
    missing), StepMix 3.0's best of 50 starts."""
    reference = json.loads((Path(__file__).parent / "stepmix_mixed_reference.json").read_text())
    X, names = read_table(str(DATA / "lca" / "election.csv"))
    X = X[:, [names.index(column) for column in reference["columns"]]]
    model = LatentClassModel(3, continuous=["AGE"], n_init=20, random_state=1).fit(
        X, item_names=reference["columns"])
    assert model.loglik_ >= reference["llik"] - 1e-6
    assert model.loglik_ <= reference["llik"] + 1e-4
    assert model.n_parameters_ == reference["n_parameters"]
    assert model.criteria()["bic"] == pytest.approx(reference["bic"], abs=1e-3)
    order = np.argsort(reference["class_shares"])[::-1]
    np.testing.assert_allclose(model.weights_, np.array(reference["class_shares"])[order],
                               atol=1e-5)
    np.testing.assert_allclose(model.means_[:, 0], np.array(reference["age_means"])[order],
                               atol=1e-3)
    np.testing.assert_allclose(model.variances_[:, 0],
                               np.array(reference["age_covariances"])[order], rtol=1e-5)
