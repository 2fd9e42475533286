"""Standard errors of a latent class fit (categorical items) from the observed
information.

The log-likelihood is taken over unconstrained logits: gamma_k = log w_k - log w_1 for
the class shares, beta_kjc = log rho_kjc - log rho_kj1 for each class and item.  Its
gradient is exact and cheap (one E-step: N_k - N w_k, and n_kjc - n_kj rho_kjc with the
expected answer counts n); the observed information is minus the Jacobian of that
gradient, by central differences (two E-steps per parameter), symmetrised.  Its
generalised inverse (as poLCA's, so that parameters on the boundary, rho = 0 or 1, do
not break it) is the logits' covariance, carried to shares and probabilities by the
delta method.
"""

import numpy as np

from ..em.driver import e_step
from .model import LatentClassEM, LatentClassParams, Responses, item_sums, safe_log

#: central-difference step on the logits
STEP = 1e-5


def _free_answers(offsets) -> np.ndarray:
    """Answer rows that carry a free logit: every answer but each item's first."""
    return np.setdiff1d(np.arange(offsets[-1]), offsets[:-1])


def _class_size(like: LatentClassParams) -> int:
    """How many leading logits are about the classes: K - 1 shares, or (K - 1) per
    covariate coefficient row."""
    K = like.weights.shape[0]
    return (K - 1) * max(like.coefficients.shape[0], 1)


def to_logits(params: LatentClassParams, offsets) -> np.ndarray:
    log_weights = safe_log(params.weights)
    log_probs = safe_log(params.probs)
    first = np.repeat(log_probs[offsets[:-1]], np.diff(offsets), axis=0)
    beta = (log_probs - first)[_free_answers(offsets)]
    classes = params.coefficients[:, 1:].ravel() if params.coefficients.shape[0] \
        else log_weights[1:] - log_weights[0]
    return np.concatenate([classes, beta.T.ravel()])


def from_logits(theta: np.ndarray, offsets, like: LatentClassParams) -> LatentClassParams:
    """Parameters from logits, shaped as ``like`` (whose shares stand with covariates)."""
    K = like.weights.shape[0]
    size = _class_size(like)
    coefficients = like.coefficients.copy()
    if coefficients.shape[0]:
        coefficients[:, 1:] = theta[:size].reshape(coefficients.shape[0], K - 1)
        weights = like.weights
    else:
        gamma = np.concatenate([[0.0], theta[:K - 1]])
        weights = np.exp(gamma - gamma.max())
    logits = np.zeros((offsets[-1], K))
    logits[_free_answers(offsets)] = theta[size:].reshape(K, -1).T
    block_max = np.repeat(np.maximum.reduceat(logits, offsets[:-1], axis=0),
                          np.diff(offsets), axis=0)
    probs = np.exp(logits - block_max)
    probs /= np.repeat(item_sums(probs, offsets), np.diff(offsets), axis=0)
    empty = np.zeros((0, K))
    return LatentClassParams(weights / weights.sum(), probs, empty, empty, empty, coefficients)


def score(model: LatentClassEM, data: Responses, params: LatentClassParams) -> np.ndarray:
    """Gradient of the log-likelihood over the logits (see :func:`to_logits`)."""
    stats = e_step(model, params, [data])
    offsets = model.offsets
    answered = np.repeat(item_sums(stats["counts"], offsets), np.diff(offsets), axis=0)
    beta = (stats["counts"] - answered * params.probs)[_free_answers(offsets)]
    if params.coefficients.shape[0]:   # the logit's score, from the kernel
        classes = stats["score"][:, 1:].ravel()
    else:
        classes = (stats["nk"] - stats["nk"].sum() * params.weights)[1:]
    return np.concatenate([classes, beta.T.ravel()])


def observed_information(model: LatentClassEM, data: Responses,
                         params: LatentClassParams) -> np.ndarray:
    """Minus the Hessian of the log-likelihood over the logits."""
    theta = to_logits(params, model.offsets)
    hessian = np.empty((theta.shape[0], theta.shape[0]))
    for index in range(theta.shape[0]):
        step = np.zeros_like(theta)
        step[index] = STEP
        up = score(model, data, from_logits(theta + step, model.offsets, params))
        down = score(model, data, from_logits(theta - step, model.offsets, params))
        hessian[:, index] = (up - down) / (2 * STEP)
    return -(hessian + hessian.T) / 2


def _softmax_jacobian(p: np.ndarray) -> np.ndarray:
    """d p / d (logits of all but the first), for p = softmax([0, logits])."""
    return (np.diag(p) - np.outer(p, p))[:, 1:]


def standard_errors(model: LatentClassEM, data: Responses,
                    params: LatentClassParams) -> tuple:
    """(standard errors of the class shares (K,) or, with covariates, None; of the
    answer probabilities (answers, K); of the covariate coefficients (Q, K), class 1's
    column zero) at ``params``."""
    covariance = np.linalg.pinv(observed_information(model, data, params), hermitian=True)
    offsets, K = model.offsets, model.n_components
    n_free = offsets[-1] - (offsets.shape[0] - 1)
    size = _class_size(params)
    coefficient_se = np.zeros_like(params.coefficients)
    weight_se = None
    if params.coefficients.shape[0]:
        coefficient_se[:, 1:] = np.sqrt(np.maximum(np.diag(covariance)[:size], 0)).reshape(
            params.coefficients.shape[0], K - 1)
    else:
        weight_jacobian = _softmax_jacobian(params.weights)
        weight_se = np.sqrt(np.maximum(np.einsum(
            "ij,jk,ik->i", weight_jacobian, covariance[:K - 1, :K - 1], weight_jacobian), 0))
    prob_se = np.zeros_like(params.probs)
    free_columns = np.cumsum(np.concatenate([[0], np.diff(offsets) - 1]))
    for k in range(K):
        base = size + k * n_free
        for j, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:])):
            block = slice(base + free_columns[j], base + free_columns[j + 1])
            jacobian = _softmax_jacobian(params.probs[start:stop, k])
            variance = np.einsum("ij,jk,ik->i", jacobian, covariance[block, block], jacobian)
            prob_se[start:stop, k] = np.sqrt(np.maximum(variance, 0))
    return weight_se, prob_se, coefficient_se
