import numpy as np
import pytest

from emapps.impute.evaluate import mask_random
from emapps.impute.io import read_calls

from ..conftest import DATA


@pytest.fixture(scope="module")
def cohort():
    """The bundled slice's first 400 sites (truth) and a copy with 5% of calls hidden."""
    truth = read_calls(DATA / "impute" / "truth.vcf.gz").subset_sites(np.arange(400))
    masked, hidden = mask_random(truth, 0.05, seed=1)
    return truth, masked, hidden
