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


def to_logits(params: LatentClassParams, offsets) -> np.ndarray:
    log_weights = safe_log(params.weights)
    log_probs = safe_log(params.probs)
    first = np.repeat(log_probs[offsets[:-1]], np.diff(offsets), axis=0)
    beta = (log_probs - first)[_free_answers(offsets)]
    return np.concatenate([log_weights[1:] - log_weights[0], beta.T.ravel()])


def from_logits(theta: np.ndarray, offsets, n_components) -> LatentClassParams:
    K = n_components
    gamma = np.concatenate([[0.0], theta[:K - 1]])
    weights = np.exp(gamma - gamma.max())
    logits = np.zeros((offsets[-1], K))
    logits[_free_answers(offsets)] = theta[K - 1:].reshape(K, -1).T
    block_max = np.repeat(np.maximum.reduceat(logits, offsets[:-1], axis=0),
                          np.diff(offsets), axis=0)
    probs = np.exp(logits - block_max)
    probs /= np.repeat(item_sums(probs, offsets), np.diff(offsets), axis=0)
    empty = np.zeros((0, K))
    return LatentClassParams(weights / weights.sum(), probs, empty, empty, empty, empty)


def score(model: LatentClassEM, data: Responses, params: LatentClassParams) -> np.ndarray:
    """Gradient of the log-likelihood over the logits (see :func:`to_logits`)."""
    stats = e_step(model, params, [data])
    offsets = model.offsets
    answered = np.repeat(item_sums(stats["counts"], offsets), np.diff(offsets), axis=0)
    beta = (stats["counts"] - answered * params.probs)[_free_answers(offsets)]
    gamma = stats["nk"] - stats["nk"].sum() * params.weights
    return np.concatenate([gamma[1:], beta.T.ravel()])


def observed_information(model: LatentClassEM, data: Responses,
                         params: LatentClassParams) -> np.ndarray:
    """Minus the Hessian of the log-likelihood over the logits."""
    theta = to_logits(params, model.offsets)
    K = model.n_components
    hessian = np.empty((theta.shape[0], theta.shape[0]))
    for index in range(theta.shape[0]):
        step = np.zeros_like(theta)
        step[index] = STEP
        up = score(model, data, from_logits(theta + step, model.offsets, K))
        down = score(model, data, from_logits(theta - step, model.offsets, K))
        hessian[:, index] = (up - down) / (2 * STEP)
    return -(hessian + hessian.T) / 2


def _softmax_jacobian(p: np.ndarray) -> np.ndarray:
    """d p / d (logits of all but the first), for p = softmax([0, logits])."""
    return (np.diag(p) - np.outer(p, p))[:, 1:]


def standard_errors(model: LatentClassEM, data: Responses,
                    params: LatentClassParams) -> tuple[np.ndarray, np.ndarray]:
    """(standard errors of the class shares (K,), of the answer probabilities
    (answers, K)) at ``params``."""
    covariance = np.linalg.pinv(observed_information(model, data, params), hermitian=True)
    offsets, K = model.offsets, model.n_components
    n_free = offsets[-1] - (offsets.shape[0] - 1)
    weight_jacobian = _softmax_jacobian(params.weights)
    weight_se = np.sqrt(np.maximum(np.einsum(
        "ij,jk,ik->i", weight_jacobian, covariance[:K - 1, :K - 1], weight_jacobian), 0))
    prob_se = np.zeros_like(params.probs)
    free_columns = np.cumsum(np.concatenate([[0], np.diff(offsets) - 1]))
    for k in range(K):
        base = K - 1 + k * n_free
        for j, (start, stop) in enumerate(zip(offsets[:-1], offsets[1:])):
            block = slice(base + free_columns[j], base + free_columns[j + 1])
            jacobian = _softmax_jacobian(params.probs[start:stop, k])
            variance = np.einsum("ij,jk,ik->i", jacobian, covariance[block, block], jacobian)
            prob_se[start:stop, k] = np.sqrt(np.maximum(variance, 0))
    return weight_se, prob_se
