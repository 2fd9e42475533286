"""Covariance algebra for the four covariance types (scikit-learn's layouts).

| type      | covariances | precisions_cholesky P (Sigma^-1 = P P^T) |
|-----------|-------------|-------------------------------------------|
| full      | (K, D, D)   | (K, D, D) upper-triangular                |
| tied      | (D, D)      | (D, D)                                    |
| diag      | (K, D)      | (K, D) = 1 / sigma                        |
| spherical | (K,)        | (K,)                                      |
"""

import numpy as np
from ..errors import DegenerateModelError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

DEGENERATE_ADVICE = ("fewer components, a larger reg_covar, or scaled/deduplicated data "
                     "(check for constant columns)")


def check_covariance_type(covariance_type: str) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, "
                         f"got {covariance_type!r}")
    return covariance_type


MOMENT_ROWS = 65536


def responsibility_moments(X, resp, shift, full: bool):
    """(N_k, S_k, Q_k): sums of r_nk, r_nk (x_n - c_k) and r_nk (x_n - c_k)(x_n - c_k)^T
    (diagonal only unless ``full``) for given responsibilities (N, K) and centres c (K, D).

    Plain numpy (row blocks keep the temporaries small): the initial M-step of a fit on
    at most MOMENT_ROWS rows uses it, so a small fit compiles no moments kernel.
    """
    n_components, n_features = resp.shape[1], X.shape[1]
    nk = resp.sum(axis=0)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros((n_components, n_features, n_features) if full else (n_components, n_features))
    for start in range(0, X.shape[0], MOMENT_ROWS):
        rows = np.asarray(X[start:start + MOMENT_ROWS], dtype=np.float64)
        block = resp[start:start + MOMENT_ROWS]
        for k in range(n_components):
            centred = rows - shift[k]
            weighted = centred * block[:, k:k + 1]
            sx[k] += weighted.sum(axis=0)
            sxx[k] += weighted.T @ centred if full else (weighted * centred).sum(axis=0)
    return nk, sx, sxx


def covariances_from_stats(nk, centred_sum, centred_sq, covariance_type, reg_covar):
    """M-step covariances from statistics centred on the old means.

    With d_k = S_k / N_k the mean shift, sum_n r_nk (x_n - mu_new)(x_n - mu_new)^T
    = Q_k - N_k d_k d_k^T; full/tied Q are (K, D, D), diag/spherical Q are (K, D).
    """
    shift = centred_sum / nk[:, None]
    if covariance_type in ("full", "tied"):
        scatter = centred_sq - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
        scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
        n_features = scatter.shape[-1]
        if covariance_type == "full":
            cov = scatter / nk[:, None, None]
            cov[:, np.arange(n_features), np.arange(n_features)] += reg_covar
            return cov
        cov = scatter.sum(axis=0) / nk.sum()
        cov.flat[:: n_features + 1] += reg_covar
        return cov
    variances = (centred_sq - nk[:, None] * shift ** 2) / nk[:, None] + reg_covar
    return variances if covariance_type == "diag" else variances.mean(axis=1)


def precision_cholesky(covariances, covariance_type):
    """P with P P^T = Sigma^-1 (upper-triangular for full/tied), or DegenerateModelError."""
    if covariance_type in ("full", "tied"):
        stack = covariances[None] if covariance_type == "tied" else covariances
        out, failed = inverse_cholesky_factors(np.asarray(stack, dtype=np.float64))
        if failed >= 0:
            raise DegenerateModelError(
                f"component {failed} has a singular covariance (collapsed or duplicated "
                f"points); use {DEGENERATE_ADVICE}")
        return out[0] if covariance_type == "tied" else out
    if np.any(~np.isfinite(covariances)) or np.any(covariances <= 0.0):
        raise DegenerateModelError(f"a component has zero variance; use {DEGENERATE_ADVICE}")
    return 1.0 / np.sqrt(covariances)


def inverse_cholesky_factors(stack) -> tuple[np.ndarray, int]:
    """(P, k): P_j = (chol(Sigma_j)^-1)^T, upper-triangular with P_j P_j^T = Sigma_j^-1, for
    a (K, D, D) stack, and k the first Sigma_j that is not positive definite (-1 when all
    are).  numpy's batched LAPACK: no kernel to compile for a few small matrices."""
    finite = np.isfinite(stack).all(axis=(1, 2))
    if not finite.all():
        return stack, int(np.argmin(finite))
    try:
        lower = np.linalg.cholesky(stack)
    except np.linalg.LinAlgError:
        for k, cov in enumerate(stack):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                return stack, k
        raise
    eye = np.broadcast_to(np.eye(stack.shape[-1]), stack.shape)
    out = np.linalg.solve(lower, eye).transpose(0, 2, 1)
    bad = np.flatnonzero(~np.isfinite(out).all(axis=(1, 2)))
    return out, int(bad[0]) if bad.size else -1


def covariances_from_precision_cholesky(prec_chol, covariance_type):
    """Inverse of :func:`precision_cholesky`."""
    if covariance_type in ("full", "tied"):
        stack = prec_chol[None] if covariance_type == "tied" else prec_chol
        cov = np.array([np.linalg.inv(p @ p.T) for p in stack])
        return cov[0] if covariance_type == "tied" else cov
    return 1.0 / prec_chol ** 2


def kernel_precisions(prec_chol, covariance_type, n_components, n_features):
    """Precisions in the kernels' layout: (K, D, D) triangular or (K, D) diagonal."""
    if covariance_type == "full":
        return np.ascontiguousarray(prec_chol)
    if covariance_type == "tied":
        return np.ascontiguousarray(np.broadcast_to(prec_chol, (n_components, n_features, n_features)))
    if covariance_type == "diag":
        return np.ascontiguousarray(prec_chol)
    return np.ascontiguousarray(np.broadcast_to(prec_chol[:, None], (n_components, n_features)))


def n_covariance_parameters(covariance_type, n_components, n_features):
    """Free parameters in the covariances (for BIC/AIC)."""
    return {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]


def pack_covariances(covariances, covariance_type):
    """Unconstrained vector: Cholesky factor with log diagonal, or log variances."""
    if covariance_type in ("full", "tied"):
        stack = covariances[None] if covariance_type == "tied" else covariances
        n_features = stack.shape[-1]
        rows, cols = np.tril_indices(n_features)
        parts = []
        for cov in stack:
            chol = np.linalg.cholesky(cov)
            chol[np.arange(n_features), np.arange(n_features)] = np.log(np.diag(chol))
            parts.append(chol[rows, cols])
        return np.concatenate(parts)
    return np.log(covariances).ravel()


def unpack_covariances(vector, covariance_type, n_components, n_features):
    """Inverse of :func:`pack_covariances` (always a valid covariance)."""
    if covariance_type in ("full", "tied"):
        count = 1 if covariance_type == "tied" else n_components
        rows, cols = np.tril_indices(n_features)
        blocks = vector.reshape(count, len(rows))
        cov = np.empty((count, n_features, n_features))
        for k, block in enumerate(blocks):
            chol = np.zeros((n_features, n_features))
            chol[rows, cols] = block
            chol[np.arange(n_features), np.arange(n_features)] = np.exp(np.diag(chol))
            cov[k] = chol @ chol.T
        return cov[0] if covariance_type == "tied" else cov
    values = np.exp(vector)
    return values.reshape(n_components, n_features) if covariance_type == "diag" else values


def recentre_stats(stats: dict, old_shift, new_shift) -> dict:
    """Statistics centred on ``old_shift`` re-expressed around ``new_shift`` (both (K, D)).

    With a = old - new: S' = S + N a, Q' = Q + S a^T + a S^T + N a a^T (diagonal:
    Q' = Q + 2 S a + N a^2).
    """
    nk, sx, sxx = stats["nk"], stats["sx"], stats["sxx"]
    delta = old_shift - new_shift
    sx_new = sx + nk[:, None] * delta
    if sxx.ndim == 3:
        cross = sx[:, :, None] * delta[:, None, :]
        sxx_new = (sxx + cross + cross.transpose(0, 2, 1)
                   + nk[:, None, None] * delta[:, :, None] * delta[:, None, :])
    else:
        sxx_new = sxx + 2 * sx * delta + nk[:, None] * delta ** 2
    return {**stats, "sx": sx_new, "sxx": sxx_new}
