"""The multinomial mixture kernel against its numpy twin."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from emapps.kernels.discrete import multinomial_mixture_pass
from tests.kernels import reference

cases = st.tuples(st.integers(1, 600), st.integers(1, 6), st.integers(1, 5), st.booleans(),
                  st.integers(0, 2**16))


def weights(rng, n_rows, weighted):
    return rng.uniform(0, 2, n_rows) if weighted else np.empty(0)


@settings(deadline=None, max_examples=25)
@given(cases)
def test_multinomial_pass_matches_twin(case):
    n_rows, n_features, n_components, weighted, seed = case
    rng = np.random.default_rng(seed)
    n_columns = 3 * n_features + 2
    dense = rng.poisson(0.4, size=(n_rows, n_columns)).astype(np.float64)
    csr = sp.csr_matrix(dense)
    log_probs = np.log(rng.dirichlet(np.ones(n_columns), size=n_components))
    sw = weights(rng, n_rows, weighted)
    lw = np.log(rng.dirichlet(np.ones(n_components)))
    ours = multinomial_mixture_pass(csr.indptr.astype(np.int64), csr.indices.astype(np.int64),
                                    csr.data, sw, lw, log_probs, 101)
    for a, b in zip(ours, reference.multinomial_pass(dense, sw, lw, log_probs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_the_multinomial_pass_is_identical_at_one_and_two_threads(threads):
    rng = np.random.default_rng(0)
    csr = sp.csr_matrix(rng.poisson(0.4, size=(30000, 12)).astype(np.float64))
    log_probs = np.log(rng.dirichlet(np.ones(12), size=3))

    def run():
        return multinomial_mixture_pass(csr.indptr.astype(np.int64),
                                        csr.indices.astype(np.int64), csr.data, np.empty(0),
                                        np.log(np.ones(3) / 3), log_probs, 2048)
    threads(1)
    one = run()
    threads(2)
    two = run()
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
