"""The latent class model for the EM driver: classes with shares w_k; within a class
the items are independent categorical answers with probabilities rho_kjc.

Parameters are kept answer-major: ``probs[offsets[j] + c, k]`` is the probability that a
member of class k gives answer c to item j (each item's block sums to 1 per class).
The E-step is :func:`emapps.kernels.latent_class.latent_class_pass`; the M-step is
closed-form (shares N_k / N; each item's answer counts over the respondents who
answered it), so missing answers are handled by full information (poLCA's
``na.rm = FALSE``).
"""

from dataclasses import dataclass

import numpy as np

from ..kernels.latent_class import latent_class_pass

#: log of a probability that is zero (the boundary): finite, so the kernels need no test
LOG_FLOOR = -700.0


@dataclass
class LatentClassParams:
    weights: np.ndarray   # (K,) class shares
    probs: np.ndarray     # (sum_j C_j, K) answer probabilities, answer-major


@dataclass
class Responses:
    """Each respondent's answers as rows of the answer table (see
    :mod:`emapps.kernels.latent_class`; a missing answer is row A, past the last), a
    C-ordered (rows, items) int16 or int32 array, with each row's weight (a count of
    identical respondents)."""
    answers: np.ndarray
    weight: np.ndarray


def answer_rows(codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Codes 0..C_j - 1 (-1 missing) of each item as rows of the answer table."""
    dtype = np.int16 if offsets[-1] < np.iinfo(np.int16).max else np.int32
    rows = codes.astype(dtype) + offsets[:-1].astype(dtype)
    rows[codes < 0] = offsets[-1]
    return np.ascontiguousarray(rows)


def log_table(probs: np.ndarray) -> np.ndarray:
    """The kernels' (A + 1, K) table: log-probabilities, then a row of zeros (missing)."""
    return np.ascontiguousarray(np.vstack([safe_log(probs), np.zeros((1, probs.shape[1]))]))


def safe_log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(values), LOG_FLOOR)


def item_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Each item's block of answer rows summed: (items, K)."""
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

    def __init__(self, offsets: np.ndarray, n_components: int):
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.n_components = n_components

    def initial_params(self, data: Responses, rng) -> LatentClassParams:
        """Equal shares and answer probabilities drawn uniformly from each item's simplex
        (poLCA's random start)."""
        K = self.n_components
        draws = rng.gamma(1.0, size=(self.offsets[-1], K))
        return LatentClassParams(np.full(K, 1.0 / K), normalise_items(draws, self.offsets))

    def e_step(self, params: LatentClassParams, chunk: Responses) -> dict:
        nk, counts, loglik, classification = latent_class_pass(
            chunk.answers, chunk.weight, safe_log(params.weights), log_table(params.probs))
        return {"loglik": loglik, "weight": float(chunk.weight.sum()), "nk": nk,
                "counts": counts[:-1], "classification": classification}

    def m_step(self, params: LatentClassParams, stats: dict) -> LatentClassParams:
        weights = stats["nk"] / stats["nk"].sum()
        return LatentClassParams(weights, normalise_items(stats["counts"], self.offsets,
                                                          fallback=params.probs))

    def pack(self, params: LatentClassParams) -> np.ndarray:
        return np.concatenate([safe_log(params.weights), safe_log(params.probs).ravel()])

    def unpack(self, vector: np.ndarray, like: LatentClassParams):
        if not np.all(np.isfinite(vector)):
            return None
        K = self.n_components
        log_weights = vector[:K]
        weights = np.exp(log_weights - log_weights.max())
        probs = np.exp(np.minimum(vector[K:].reshape(like.probs.shape), 0.0))
        return LatentClassParams(weights / weights.sum(), normalise_items(probs, self.offsets))
