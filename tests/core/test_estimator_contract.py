"""Every estimator keeps scikit-learn's contract: parameters, clone, tags, fitted checks,
seeds; GaussianMixture also works inside Pipeline, GridSearchCV and cross_val_score."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFitted
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator
from sklearn.utils.validation import check_is_fitted

from emapps import GaussianMixture
from emapps.errors import NotFittedError
from emapps.haplo import HaplotypeEM
from emapps.impute.cohort_clusters import CohortImputer
from emapps.impute.cohort_copier import CohortCopier
from emapps.impute.reference import ReferenceImputer
from emapps.recsys import MODELS
from emapps.segment import ImageSegmenter

ESTIMATORS = [GaussianMixture, ImageSegmenter, HaplotypeEM, ReferenceImputer, CohortCopier,
              CohortImputer, *(cls for cls, _ in MODELS.values())]

#: checks GaussianMixture is expected to fail, and why
EXPECTED_FAILURES = {
    "check_estimators_unfitted": "emapps raises its own NotFittedError (a ValueError and an "
                                 "AttributeError, as scikit-learn's), since scikit-learn is "
                                 "not a dependency of emapps",
    "check_sample_weight_equivalence_on_dense_data": "the k-means start draws rows at "
                                                     "random, so weights and repeated rows "
                                                     "start from different points",
}


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(0, 1, (60, 2)), rng.normal(6, 1, (60, 2))])


def test_passes_scikit_learns_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(GaussianMixture(2, random_state=0),
                                  expected_failed_checks=EXPECTED_FAILURES, on_fail=None)
    failed = [row["check_name"] for row in results if row["status"] == "failed"]
    assert failed == []
    assert len(results) > 40


def test_works_inside_pipeline_grid_search_and_cross_validation():
    X = blobs()
    pipeline = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0))
    with pytest.raises(SklearnNotFitted):
        check_is_fitted(pipeline)
    labels = pipeline.fit(X).predict(X)
    check_is_fitted(pipeline)
    assert set(labels[:60]) != set(labels[60:])
    search = GridSearchCV(pipeline, {"gaussianmixture__n_components": [1, 2, 3]}, cv=3)
    assert search.fit(X).best_params_["gaussianmixture__n_components"] >= 2
    scores = cross_val_score(GaussianMixture(2, random_state=0), X, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_parameters_round_trip_through_clone(cls):
    estimator = cls(random_state=7)
    params = estimator.get_params()
    assert params["random_state"] == 7 and "seed" not in params and "n_starts" not in params
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == params
    name = next(iter(params))
    assert estimator.set_params(**{name: params[name]}) is estimator
    with pytest.raises(ValueError, match="invalid parameter"):
        estimator.set_params(no_such_thing=1)
    assert repr(estimator).startswith(cls.__name__ + "(") and "random_state=7" in repr(estimator)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_unfitted_is_a_value_and_attribute_error(cls):
    estimator = cls()
    assert not estimator.__sklearn_is_fitted__()
    with pytest.raises(NotFittedError) as error:
        estimator._check_fitted()
    assert isinstance(error.value, ValueError) and isinstance(error.value, AttributeError)


def test_old_keyword_spellings_still_work_with_a_warning():
    with pytest.warns(FutureWarning, match="seed= is renamed random_state="):
        model = HaplotypeEM(seed=3)
    assert model.random_state == 3
    with pytest.warns(FutureWarning, match="n_starts= is renamed n_init="):
        assert HaplotypeEM(n_starts=2).n_init == 2
    with pytest.raises(TypeError, match="unexpected keyword argument 'sede'"):
        HaplotypeEM(sede=3)


def test_random_state_takes_an_int_a_seed_sequence_or_a_generator():
    X = blobs(1)
    fits = [GaussianMixture(2, init_params="random", random_state=state).fit(X)
            for state in (5, np.random.SeedSequence(5))]
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    assert fits[0].seed_ == 5
    generator = np.random.default_rng(0)
    first = GaussianMixture(2, random_state=generator).fit(X).seed_
    second = GaussianMixture(2, random_state=generator).fit(X).seed_
    assert first != second   # one generator, successive fits: different seeds, each recorded


def test_class_defaults_are_the_command_lines():
    """The command line reads its defaults from the classes (segment and recsys once
    disagreed with them)."""
    from emapps.recsys.cli import fit as recsys_fit
    from emapps.segment.cli import run as segment_run

    def default(cls, name):
        return cls.default_params()[name]

    options = {param.name: param.default for param in segment_run.params}
    assert options["components"] == str(default(ImageSegmenter, "n_components"))
    for option, parameter in (("features", "features"), ("spatial", "spatial"),
                              ("estimate_beta", "estimate_beta"), ("beta", "beta"),
                              ("xy_scale", "xy_scale"), ("tol", "tol"),
                              ("max_iter", "max_iter"), ("fit_pixels", "sample_pixels")):
        assert options[option] == default(ImageSegmenter, parameter), option
    options = {param.name: param.default for param in recsys_fit.params}
    factor = MODELS["factor"][0]
    assert options["reg_factors"] == default(factor, "reg_factors")
    assert options["reg_bias"] == default(factor, "reg_bias")
    assert options["alpha"] == default(MODELS["implicit"][0], "alpha")
    for name in ("factors", "max_iter", "tol", "temperature"):   # None: each kind's own
        assert options[name] is None
    from emapps.haplo.cli import haplo
    from emapps.mixture.cli import fit as mixture_fit

    options = {param.name: param.default for param in mixture_fit.params}
    for option, parameter in (("n_init", "n_init"), ("max_iter", "max_iter"), ("tol", "tol"),
                              ("reg_covar", "reg_covar"), ("init_params", "init_params")):
        assert options[option] == default(GaussianMixture, parameter), option
    assert options["accelerate"] == (default(GaussianMixture, "accelerate") == "squarem")
    options = {param.name: param.default for param in haplo.params}
    for option, parameter in (("starts", "n_init"), ("min_posterior", "min_posterior"),
                              ("tol", "tol"), ("max_iter", "max_iter")):
        assert options[option] == default(HaplotypeEM, parameter), option
