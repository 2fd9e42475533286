"""The latent class model for the EM driver: classes with shares w_k; within a class
the indicators are independent: categorical answers (probabilities rho_kjc), Gaussian
measurements (mean and variance per class) and Poisson counts (rate per class).

Answer probabilities are kept answer-major: ``probs[offsets[j] + c, k]`` is the
probability that a member of class k gives answer c to item j (each item's block sums
to 1 per class); measurement and count parameters are (indicator, K).  The E-step is
:func:`emapps.kernels.latent_class.latent_class_pass`; the M-step is closed-form
(shares N_k / N; each indicator's statistics over the respondents who gave it; with
covariates, one Newton step of the prior's multinomial logit, an ECM step as poLCA's), so
missing values are handled by full information (poLCA's ``na.rm = FALSE``, StepMix's
``*_nan`` models).
"""

from dataclasses import dataclass

import numpy as np

from ..kernels.latent_class import latent_class_pass

#: log of a probability that is zero (the boundary): finite, so the kernels need no test
LOG_FLOOR = -700.0
#: variance floor, relative to the measurement's variance over all respondents
VARIANCE_FLOOR = 1e-6
#: rate floor of a Poisson count
RATE_FLOOR = 1e-10


@dataclass
class LatentClassParams:
    weights: np.ndarray     # (K,) class shares
    probs: np.ndarray       # (sum_j C_j, K) answer probabilities, answer-major
    means: np.ndarray       # (D, K) Gaussian means of the measurements
    variances: np.ndarray   # (D, K) and their variances
    rates: np.ndarray       # (P, K) Poisson rates of the counts
    coefficients: np.ndarray   # (Q, K) multinomial logit of the class prior on the
    #                            covariates (intercept first; class 1's column is zero)


@dataclass
class Responses:
    """Each respondent's answers as rows of the answer table (a missing answer is row A,
    past the last), a C-ordered (rows, items) int16 or int32 array; measurements and
    counts (rows, D) and (rows, P), NaN missing; covariates of the class prior (rows, Q:
    none, or an intercept and the covariates); each row's weight (a count of identical
    respondents)."""
    answers: np.ndarray
    continuous: np.ndarray
    counts: np.ndarray
    covariates: np.ndarray   # (rows, Q): an intercept column, then the covariates
    weight: np.ndarray


def answer_rows(codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Codes 0..C_j - 1 (-1 missing) of each item as rows of the answer table."""
    dtype = np.int16 if offsets[-1] < np.iinfo(np.int16).max else np.int32
    rows = codes.astype(dtype) + offsets[:-1].astype(dtype)
    rows[codes < 0] = offsets[-1]
    return np.ascontiguousarray(rows)


def safe_log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(values), LOG_FLOOR)


def kernel_parameters(params: LatentClassParams) -> tuple:
    """The kernels' parameter arguments: log shares, the prior's coefficients, the
    (A + 1, K) table of log-probabilities with its row of zeros for missing answers,
    means, precisions, Gaussian log normalisers, rates and log rates."""
    table = np.vstack([safe_log(params.probs), np.zeros((1, params.probs.shape[1]))])
    precisions = 1.0 / params.variances
    return (safe_log(params.weights), np.ascontiguousarray(params.coefficients),
            np.ascontiguousarray(table),
            np.ascontiguousarray(params.means), np.ascontiguousarray(precisions),
            np.ascontiguousarray(-0.5 * np.log(2 * np.pi * params.variances)),
            np.ascontiguousarray(params.rates), np.ascontiguousarray(np.log(params.rates)))


def item_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each item's block of answer rows summed: (items, K)."""
    if offsets.shape[0] == 1:
        return np.zeros((0, values.shape[1]))
    return np.add.reduceat(values, offsets[:-1], axis=0)


def normalise_items(values: np.ndarray, offsets: np.ndarray, fallback=None) -> np.ndarray:
    """Each item's block divided by its column sums (a block summing to zero keeps
    ``fallback``'s values, or becomes uniform)."""
    sizes = np.diff(offsets)
    totals = np.repeat(item_sums(values, offsets), sizes, axis=0)
    empty = totals <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        result = values / totals
    if empty.any():
        uniform = np.repeat(1.0 / sizes, sizes)[:, None] * np.ones(values.shape[1])
        result[empty] = (fallback if fallback is not None else uniform)[empty]
    return result


class LatentClassEM:
    """The driver's model (see emapps.em.protocol); SQUAREM steps in log space."""

    def __init__(self, offsets: np.ndarray, n_components: int, spread=None):
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.n_components = n_components
        #: each measurement's variance over all respondents (sets the variance floor)
        self.spread = np.zeros(0) if spread is None else np.asarray(spread, dtype=float)

    def initial_params(self, data: Responses, rng) -> LatentClassParams:
        """Equal shares; answer probabilities drawn uniformly from each item's simplex
        (poLCA's random start); each class's means taken from a random respondent who
        was measured, with the overall variances; rates scattered around the mean
        count."""
        K = self.n_components
        draws = rng.gamma(1.0, size=(self.offsets[-1], K))
        means = np.empty((data.continuous.shape[1], K))
        for d, column in enumerate(data.continuous.T):
            means[d] = rng.choice(column[~np.isnan(column)], size=K)
        variances = np.repeat(self.spread[:, None], K, axis=1)
        mean_counts = np.array([np.average(column[~np.isnan(column)],
                                           weights=data.weight[~np.isnan(column)])
                                for column in data.counts.T]).reshape(-1, 1)
        rates = np.maximum(mean_counts * rng.gamma(4.0, 0.25, size=(mean_counts.shape[0], K)),
                           RATE_FLOOR)
        return LatentClassParams(np.full(K, 1.0 / K), normalise_items(draws, self.offsets),
                                 means, np.maximum(variances, self._floor()), rates,
                                 np.zeros((data.covariates.shape[1], K)))

    def _floor(self) -> np.ndarray:
        return np.maximum(VARIANCE_FLOOR * self.spread, 1e-300)[:, None]

    def e_step(self, params: LatentClassParams, chunk: Responses) -> dict:
        (nk, answer_counts, measured, sum_x, sum_xx, counted, sum_counts, score, information,
         loglik, classification) = latent_class_pass(
            chunk.answers, chunk.continuous, chunk.counts, chunk.covariates, chunk.weight,
            *kernel_parameters(params))
        return {"loglik": loglik, "weight": float(chunk.weight.sum()), "nk": nk,
                "counts": answer_counts[:-1], "measured": measured, "sum_x": sum_x,
                "sum_xx": sum_xx, "counted": counted, "sum_counts": sum_counts,
                "score": score, "information": information,
                "classification": classification}

    def m_step(self, params: LatentClassParams, stats: dict) -> LatentClassParams:
        weights = stats["nk"] / stats["nk"].sum()
        probs = normalise_items(stats["counts"], self.offsets, fallback=params.probs)
        measured = stats["measured"]
        seen = measured > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(seen, stats["sum_x"] / measured, params.means)
            variances = np.where(seen, stats["sum_xx"] / measured - means ** 2,
                                 params.variances)
            rates = np.where(stats["counted"] > 0, stats["sum_counts"] / stats["counted"],
                             params.rates)
        return LatentClassParams(weights, probs, means, np.maximum(variances, self._floor()),
                                 np.maximum(rates, RATE_FLOOR),
                                 newton_step(params.coefficients, stats))

    def pack(self, params: LatentClassParams) -> np.ndarray:
        return np.concatenate([safe_log(params.weights), safe_log(params.probs).ravel(),
                               params.means.ravel(), np.log(params.variances).ravel(),
                               np.log(params.rates).ravel(), params.coefficients.ravel()])

    def unpack(self, vector: np.ndarray, like: LatentClassParams):
        if not np.all(np.isfinite(vector)):
            return None
        K = self.n_components
        pieces = np.split(vector, np.cumsum([K, like.probs.size, like.means.size,
                                             like.variances.size, like.rates.size]))
        coefficients = pieces[5].reshape(like.coefficients.shape)
        log_weights = pieces[0]
        weights = np.exp(log_weights - log_weights.max())
        probs = np.exp(np.minimum(pieces[1].reshape(like.probs.shape), 0.0))
        variances = np.exp(pieces[3].reshape(like.variances.shape))
        return LatentClassParams(weights / weights.sum(), normalise_items(probs, self.offsets),
                                 pieces[2].reshape(like.means.shape),
                                 np.maximum(variances, self._floor()),
                                 np.maximum(np.exp(pieces[4].reshape(like.rates.shape)),
                                            RATE_FLOOR),
                                 coefficients - coefficients[:, :1])


def newton_step(coefficients: np.ndarray, stats: dict) -> np.ndarray:
    """One Newton step of the prior's multinomial logit towards the posteriors (poLCA's
    M-step for covariates), class 1 the reference; unchanged without covariates."""
    n_covariates, K = coefficients.shape
    if n_covariates == 0:
        return coefficients
    free = np.array([q * K + k for q in range(n_covariates) for k in range(1, K)])
    information = stats["information"][np.ix_(free, free)]
    try:
        step = np.linalg.solve(information, stats["score"].ravel()[free])
    except np.linalg.LinAlgError:
        step = np.linalg.lstsq(information, stats["score"].ravel()[free], rcond=None)[0]
    updated = coefficients.copy()
    updated[:, 1:] += step.reshape(n_covariates, K - 1)
    return updated
