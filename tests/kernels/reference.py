"""Plain-numpy twins of the numba kernels, written for clarity, not speed."""

import numpy as np
from scipy.special import logsumexp


def log_joint_full(X, log_weights, means, prec_chol):
    n_features = X.shape[1]
    out = np.empty((X.shape[0], means.shape[0]))
    for k in range(means.shape[0]):
        y = (X - means[k]) @ prec_chol[k]
        out[:, k] = (log_weights[k] + np.log(np.diag(prec_chol[k])).sum()
                     - 0.5 * n_features * np.log(2 * np.pi) - 0.5 * (y ** 2).sum(axis=1))
    return out


def log_joint_diag(X, log_weights, means, prec_sqrt):
    n_features = X.shape[1]
    y = (X[:, None, :] - means[None]) * prec_sqrt[None]
    return (log_weights + np.log(prec_sqrt).sum(axis=1) - 0.5 * n_features * np.log(2 * np.pi)
            - 0.5 * (y ** 2).sum(axis=2))


def moments(X, resp, shift, full):
    centred = X[None, :, :] - shift[:, None, :]
    nk = resp.sum(axis=0)
    sx = np.einsum("nk,knd->kd", resp, centred)
    if full:
        sxx = np.einsum("nk,kni,knj->kij", resp, centred, centred)
    else:
        sxx = np.einsum("nk,knd->kd", resp, centred ** 2)
    return nk, sx, sxx


def gaussian_pass(X, sample_weight, log_weights, means, prec, full):
    lj = (log_joint_full if full else log_joint_diag)(X, log_weights, means, prec)
    norm = logsumexp(lj, axis=1)
    w = sample_weight if sample_weight.size else np.ones(X.shape[0])
    resp = np.exp(lj - norm[:, None]) * w[:, None]
    return (*moments(X, resp, means, full), float(np.dot(w, norm)))
