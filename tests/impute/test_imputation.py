"""impute(): the library chooses the algorithm from its inputs, takes each estimator's
own settings, and refuses settings the chosen one does not use."""

import numpy as np
import pytest

from emapps.impute import CohortCopier, CohortImputer, ReferenceImputer, impute
from emapps.impute.imputation import NotASettingError
from emapps.impute.io import read_calls

from ..conftest import DATA


def test_panel_mode_is_the_reference_imputer_with_its_defaults():
    target = read_calls(DATA / "impute" / "target.vcf.gz").subset_sites(np.arange(60))
    panel = read_calls(DATA / "impute" / "ref.vcf.gz")
    done = impute(target, panel, max_iter=2)
    assert done.mode == "panel" and isinstance(done.estimator, ReferenceImputer)
    assert done.estimator.max_iter == 2
    assert done.estimator.per_window == ReferenceImputer.default_params()["per_window"]
    direct = ReferenceImputer(max_iter=2).fit(target, panel).predict()
    np.testing.assert_array_equal(done.result.dosage, direct.dosage)
    assert "typed of" in done.summary()


def test_cohort_mode_takes_the_cohort_model_and_refuses_foreign_settings(cohort):
    _, masked, _ = cohort
    small = masked.subset_sites(np.arange(120))
    done = impute(small, cohort_model="clusters", n_clusters=3, n_init=1, max_iter=3,
                  random_state=0)
    assert isinstance(done.estimator, CohortImputer) and done.mode == "clusters"
    assert done.result.dosage.shape == (len(small.samples), small.n_sites)
    with pytest.raises(NotASettingError, match="n_clusters: not a setting of copying") as error:
        impute(small, n_clusters=3)
    assert error.value.names == ["n_clusters"]
    with pytest.raises(NotASettingError, match="phasings: not a setting of panel"):
        impute(small, small, phasings=2)
    assert CohortCopier.default_params()["rounds"] == 6
