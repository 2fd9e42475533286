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
    classification = -float(np.dot(w, (lj - norm[:, None]).max(axis=1)))
    return (*moments(X, resp, means, full), float(np.dot(w, norm)), classification)


def posterior(log_joint, sample_weight):
    norm = logsumexp(log_joint, axis=1)
    w = sample_weight if sample_weight.size else np.ones(log_joint.shape[0])
    return np.exp(log_joint - norm[:, None]) * w[:, None], float(np.dot(w, norm))


def multinomial_pass(dense, sample_weight, log_weights, log_probs):
    resp, loglik = posterior(log_weights + dense @ log_probs.T, sample_weight)
    return resp.sum(axis=0), resp.T @ dense, loglik


def grid_neighbours(height, width, eight):
    """{site: [neighbour sites]} of an H x W grid, row-major."""
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if eight:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    out = {}
    for r in range(height):
        for c in range(width):
            out[r * width + c] = [(r + dr) * width + c + dc for dr, dc in steps
                                  if 0 <= r + dr < height and 0 <= c + dc < width]
    return out


def potts_sweep(log_unary, q, shape, beta, eight, hard):
    """Site-by-site Potts update in colour order (a fresh copy of q is returned)."""
    height, width = shape
    q = q.copy()
    neighbours = grid_neighbours(height, width, eight)
    n_colours = 4 if eight else 2
    for colour in range(n_colours):
        for r in range(height):
            for c in range(width):
                own = (r % 2) * 2 + (c % 2) if eight else (r + c) % 2
                if own != colour:
                    continue
                i = r * width + c
                field = log_unary[i] + beta * q[neighbours[i]].sum(axis=0)
                if hard:
                    q[i] = np.eye(q.shape[1])[np.argmax(field)]
                else:
                    q[i] = np.exp(field - logsumexp(field))
    return q


def potts_objective(log_unary, q, shape, beta, eight):
    """J = sum q u + beta sum_{edges} q_i . q_j - sum q log q."""
    neighbours = grid_neighbours(*shape, eight)
    pairs = sum(q[i] @ q[j] for i, js in neighbours.items() for j in js if j > i)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(q > 0, q * np.log(q), 0.0))
    return float((q * log_unary).sum() + beta * pairs + entropy)


def potts_pseudo_loglik(log_prior, q, shape, beta, eight):
    neighbours = grid_neighbours(*shape, eight)
    total = 0.0
    for i, js in neighbours.items():
        a = log_prior + beta * q[js].sum(axis=0)
        total += q[i] @ a - logsumexp(a)
    return total


def pair_mixture(offsets, first, second, log_freq, weights):
    """Expected haplotype counts and log-likelihood of a ragged pair mixture."""
    counts = np.zeros(log_freq.shape[0])
    loglik = 0.0
    for i in range(offsets.shape[0] - 1):
        j = np.arange(offsets[i], offsets[i + 1])
        log_prior = log_freq[first[j]] + log_freq[second[j]] + np.log(
            np.where(first[j] == second[j], 1.0, 2.0))
        total = logsumexp(log_prior)
        if total == -np.inf:  # no pair has positive probability
            loglik = -np.inf
            continue
        posterior = np.exp(log_prior - total)
        np.add.at(counts, first[j], weights[i] * posterior)
        np.add.at(counts, second[j], weights[i] * posterior)
        loglik += weights[i] * total
    return counts, loglik


def pair_fits(g, h, genotype, phased):
    """Haplotypes g, h explain a genotype ((L, 2), -1 missing) in some orientation that
    agrees with every phased heterozygous locus."""
    for flip in (False, True):
        first, second = (h, g) if flip else (g, h)
        ok = True
        for locus, (x, y) in enumerate(genotype):
            pair = (first[locus], second[locus])
            if x >= 0 and y >= 0:
                if phased[locus] and x != y:
                    ok &= pair == (x, y)
                else:
                    ok &= sorted(pair) == sorted((x, y))
            elif x >= 0 or y >= 0:
                ok &= max(x, y) in pair
        if ok:
            return True
    return False


def factor_estep(indptr, items, values, bias_mean, loading_mean, outer, cross, bias_square,
                 bias_var, noise_var):
    """Per-item moments of the augmented latent (1, c_u, z_u) and the evidence lower bound
    sum_u E_q[log p(y_u | x_u, f)] - KL(q(x_u) || p(x_u)), written out term by term."""
    n_items, n_factors = loading_mean.shape
    dims, aug = n_factors + 1, n_factors + 2
    second = np.zeros((n_items, aug, aug))
    first = np.zeros((n_items, aug))
    squares, counts = np.zeros(n_items), np.zeros(n_items)
    prior = np.diag(np.r_[bias_var, np.ones(n_factors)])
    bias_moment = elbo = 0.0
    for u in range(indptr.shape[0] - 1):
        rated = items[indptr[u]:indptr[u + 1]]
        if rated.size == 0:
            continue
        y = values[indptr[u]:indptr[u + 1]]
        mean_vx = np.column_stack([np.ones(rated.size), loading_mean[rated]])
        precision = np.linalg.inv(prior) + outer[rated].sum(axis=0) / noise_var
        posterior = np.linalg.inv(precision)
        mean = posterior @ (mean_vx.T @ y - cross[rated].sum(axis=0)) / noise_var
        xx = posterior + np.outer(mean, mean)
        expected_error = (y * y - 2 * y * bias_mean[rated] - 2 * y * (mean_vx @ mean)
                          + bias_square[rated] + 2 * cross[rated] @ mean
                          + np.einsum("nde,de->n", outer[rated], xx))
        kl = 0.5 * (np.trace(np.linalg.solve(prior, posterior))
                    + mean @ np.linalg.solve(prior, mean) - dims
                    + np.linalg.slogdet(prior)[1] - np.linalg.slogdet(posterior)[1])
        elbo += (-0.5 * rated.size * np.log(2 * np.pi * noise_var)
                 - 0.5 * expected_error.sum() / noise_var - kl)
        moment = np.block([[np.ones((1, 1)), mean[None]], [mean[:, None], xx]])
        bias_moment += moment[1, 1]
        for i, value in zip(rated, y):
            second[i] += moment
            first[i] += value * moment[0]
            squares[i] += value * value
            counts[i] += 1
    return second, first, squares, counts, bias_moment, elbo
