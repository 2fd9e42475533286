"""Missing values (NaN) in Gaussian mixture EM, one missingness pattern at a time.

For a row with observed coordinates O and missing M, component k contributes
p(x_O | k) = N(x_O | mu_kO, S_kOO) to the likelihood, and the M-step uses
E[x_M | x_O, k] = mu_kM + B_k (x_O - mu_kO), B_k = S_kMO S_kOO^-1, plus the
conditional covariance C_k = S_kMM - B_k S_kOM in the second moments
(Ghahramani & Jordan 1994).  Rows are grouped by pattern so every kernel call
works on a dense block.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import DegenerateModelError
from .covariance import DEGENERATE_ADVICE, inverse_cholesky_factors
from .params import GaussianParams


@dataclass(frozen=True)
class Pattern:
    """Rows (indices into the data) sharing one observed-coordinate mask."""

    observed: np.ndarray
    rows: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return ~self.observed


def split_patterns(X) -> tuple[np.ndarray, list[Pattern]]:
    """(indices of complete rows, incomplete rows grouped by missingness pattern)."""
    missing = np.isnan(X)
    if not missing.any():
        return np.arange(X.shape[0]), []
    incomplete = missing.any(axis=1)
    complete_rows = np.flatnonzero(~incomplete)
    patterns = []
    if incomplete.any():
        masks, inverse = np.unique(missing[incomplete], axis=0, return_inverse=True)
        rows = np.flatnonzero(incomplete)
        for index, mask in enumerate(masks):
            patterns.append(Pattern(~mask, rows[inverse.ravel() == index]))
    return complete_rows, patterns


def full_covariances(params: GaussianParams) -> np.ndarray:
    """(K, D, D) covariances whatever the covariance type."""
    K, D = params.n_components, params.n_features
    cov = params.covariances
    if params.covariance_type == "full":
        return cov
    if params.covariance_type == "tied":
        return np.broadcast_to(cov, (K, D, D))
    variances = cov if params.covariance_type == "diag" else np.repeat(cov[:, None], D, axis=1)
    return np.array([np.diag(v) for v in variances])


@dataclass(frozen=True)
class Marginal:
    """Per-component quantities for one pattern: observed-block means, precisions, B, C."""

    means_observed: np.ndarray
    prec_observed: np.ndarray
    regression: np.ndarray
    conditional_cov: np.ndarray


def marginal(params: GaussianParams, covariances: np.ndarray, pattern: Pattern) -> Marginal:
    O, M = pattern.observed, pattern.missing
    prec, failed = inverse_cholesky_factors(covariances[:, O][:, :, O])
    if failed >= 0:
        raise DegenerateModelError(f"component {failed} is singular on the observed "
                                   f"coordinates; use {DEGENERATE_ADVICE}")
    cov_mo = covariances[:, M][:, :, O]
    inverse_oo = prec @ prec.transpose(0, 2, 1)
    regression = cov_mo @ inverse_oo
    conditional = covariances[:, M][:, :, M] - regression @ cov_mo.transpose(0, 2, 1)
    return Marginal(np.ascontiguousarray(params.means[:, O]), prec, regression, conditional)


def pattern_log_joint(params: GaussianParams, X_observed, parts: Marginal) -> np.ndarray:
    """(n, K) log w_k + log N(x_O | mu_kO, S_kOO)."""
    from ..kernels.gaussian import gaussian_log_joint_full

    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    return gaussian_log_joint_full(np.ascontiguousarray(X_observed), log_weights,
                                   parts.means_observed, parts.prec_observed)


def completed_rows(params: GaussianParams, X_rows, pattern: Pattern, parts: Marginal, k: int):
    """Rows with missing coordinates replaced by E[x_M | x_O, k]."""
    O, M = pattern.observed, pattern.missing
    filled = np.array(X_rows, dtype=np.float64)
    centred = filled[:, O] - params.means[k, O]
    filled[:, M] = params.means[k, M] + centred @ parts.regression[k].T
    return filled


def pattern_stats(params: GaussianParams, covariances, X_rows, weight_rows,
                  pattern: Pattern, full: bool) -> dict:
    """Additive E-step statistics of one pattern's rows, centred on the current means."""
    from ..kernels.gaussian import weighted_moments
    from ..kernels.logspace import normalize_log_rows

    parts = marginal(params, covariances, pattern)
    log_resp = pattern_log_joint(params, X_rows[:, pattern.observed], parts)
    norm = normalize_log_rows(log_resp)
    resp = np.exp(log_resp)
    if weight_rows.size:
        resp *= weight_rows[:, None]
    K, D = params.n_components, params.n_features
    nk = np.empty(K)
    sx = np.empty((K, D))
    sxx = np.empty((K, D, D))
    M = np.flatnonzero(pattern.missing)
    for k in range(K):
        filled = completed_rows(params, X_rows, pattern, parts, k)
        moments = weighted_moments(filled, np.ascontiguousarray(resp[:, k:k + 1]),
                                   np.ascontiguousarray(params.means[k:k + 1]), True)
        nk[k], sx[k], sxx[k] = moments[0][0], moments[1][0], moments[2][0]
        sxx[k][np.ix_(M, M)] += nk[k] * parts.conditional_cov[k]
    weights = weight_rows if weight_rows.size else np.ones(len(norm))
    loglik = float(np.dot(weights, norm))
    classification = -float(np.dot(weights, log_resp.max(axis=1)))
    if not full:
        sxx = np.diagonal(sxx, axis1=1, axis2=2).copy()
    return {"nk": nk, "sx": sx, "sxx": sxx, "loglik": loglik, "classification": classification}


def conditional_means(params: GaussianParams, X) -> np.ndarray:
    """X with every NaN replaced by E[x_M | x_O] = sum_k p(k | x_O) E[x_M | x_O, k]."""
    from ..kernels.logspace import normalize_log_rows

    out = np.array(X, dtype=np.float64)
    _, patterns = split_patterns(out)
    covariances = full_covariances(params)
    for pattern in patterns:
        rows = out[pattern.rows]
        parts = marginal(params, covariances, pattern)
        log_resp = pattern_log_joint(params, rows[:, pattern.observed], parts)
        normalize_log_rows(log_resp)
        resp = np.exp(log_resp)
        filled = np.zeros((len(rows), int(pattern.missing.sum())))
        for k in range(params.n_components):
            completed = completed_rows(params, rows, pattern, parts, k)
            filled += resp[:, k:k + 1] * completed[:, pattern.missing]
        rows[:, pattern.missing] = filled
        out[pattern.rows] = rows
    return out
