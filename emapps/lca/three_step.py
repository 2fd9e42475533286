"""Three-step latent class regression (Vermunt 2010; StepMix's ``n_steps=3``): the
measurement model is fitted alone (step 1), respondents are assigned to their modal class
(step 2), and class membership is regressed on covariates (step 3), either on the
assignments as they are (biased towards no effect, since assignments err) or with the
maximum-likelihood correction: the assignment is a single indicator whose
classification errors D[s, t] = P(assigned t | class s) are fixed at the values the
measurement model implies, and only the multinomial logit of the classes on the
covariates is fitted, by EM through the driver.
"""

from dataclasses import dataclass

import numpy as np

from ..em import fit_em
from ..errors import UserInputError
from .model import LatentClassEM, LatentClassParams, newton_step
from .responses import numeric_block, responses

CORRECTIONS = ("ML", "none")


@dataclass
class StructuralFit:
    coefficients: np.ndarray    # (Q + 1, K): intercept first, class 1 the reference
    classification_errors: np.ndarray   # D (K, K): P(assigned t | class s)
    log_likelihood: float
    n_iter: int
    converged: bool


class _FixedMeasurement(LatentClassEM):
    """The assignment as one item with its answer probabilities fixed: the M-step moves
    only the coefficients."""

    def m_step(self, params: LatentClassParams, stats: dict) -> LatentClassParams:
        return LatentClassParams(stats["nk"] / stats["nk"].sum(), params.probs, params.means,
                                 params.variances, params.rates,
                                 newton_step(params.coefficients, stats))


def classification_errors(posteriors: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """D[s, t] = sum_n p(s | x_n) [assigned_n = t] / sum_n p(s | x_n)."""
    K = posteriors.shape[1]
    counts = np.stack([posteriors[assigned == t].sum(axis=0) for t in range(K)], axis=1)
    return counts / posteriors.sum(axis=0)[:, None]


def three_step(model, X, covariates, correction: str = "ML", max_iter: int = 1000,
               tol: float = 1e-12) -> StructuralFit:
    """Regress the classes of a fitted :class:`~emapps.lca.LatentClassModel` on
    ``covariates`` (rows x Q numbers, no missing values) for the respondents of X."""
    if correction not in CORRECTIONS:
        raise UserInputError(f"correction must be one of {', '.join(CORRECTIONS)}; got "
                             f"{correction!r}")
    posteriors = model.predict_proba(X)
    assigned = posteriors.argmax(axis=1)
    K = posteriors.shape[1]
    covariates = np.asarray(covariates, dtype=float)
    if covariates.ndim == 1:
        covariates = covariates[:, None]
    if covariates.shape[0] != posteriors.shape[0]:
        raise UserInputError(f"covariates have {covariates.shape[0]} rows; X has "
                             f"{posteriors.shape[0]}")
    block = numeric_block(list(covariates.T), [f"covariate{q + 1}"
                                               for q in range(covariates.shape[1])],
                          covariates.shape[0], "covariate")
    errors = classification_errors(posteriors, assigned) if correction == "ML" \
        else np.eye(K)
    offsets = np.array([0, K])
    data = responses(assigned[:, None].astype(np.int16), offsets, covariates=block)
    em = _FixedMeasurement(offsets, K)
    empty = np.zeros((0, K))
    start = LatentClassParams(np.full(K, 1.0 / K), errors.T.copy(), empty, empty, empty,
                              np.zeros((block.shape[1] + 1, K)))
    if np.any(np.diag(errors) <= 0):
        raise UserInputError("a class is never the modal one: the classification errors "
                             "cannot be estimated")
    result = fit_em(em, data, init_params=start, max_iter=max_iter, tol=tol,
                    tol_on="relative", warn=False)
    return StructuralFit(result.params.coefficients, errors, float(result.loglik),
                         result.n_iter, bool(result.converged))
