"""The driver's test model: a mixture of K Poisson distributions over counts, in plain
numpy, knowing nothing of emapps but the EM protocol (additive statistics, pack and
unpack for SQUAREM)."""

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp


@dataclass
class PoissonParams:
    weights: np.ndarray
    rates: np.ndarray


class PoissonMixture:
    """p(x) = sum_k w_k Poisson(x | lambda_k); a chunk is a 1-D array of counts."""

    def __init__(self, n_components: int):
        self.n_components = n_components

    def initial_params(self, data, rng) -> PoissonParams:
        rates = rng.choice(np.asarray(data, dtype=float), self.n_components) + 0.5
        return PoissonParams(rng.dirichlet(np.ones(self.n_components)), rates)

    def e_step(self, params: PoissonParams, chunk) -> dict:
        x = np.asarray(chunk, dtype=float)[:, None]
        log_joint = (np.log(params.weights) + x * np.log(params.rates) - params.rates
                     - gammaln(x + 1))
        per_row = logsumexp(log_joint, axis=1)
        resp = np.exp(log_joint - per_row[:, None])
        return {"nk": resp.sum(axis=0), "sx": resp.T @ x[:, 0],
                "loglik": float(per_row.sum()), "weight": float(x.shape[0])}

    def m_step(self, params: PoissonParams, stats: dict) -> PoissonParams:
        nk = np.maximum(stats["nk"], 1e-300)
        return PoissonParams(nk / nk.sum(), np.maximum(stats["sx"] / nk, 1e-12))

    def pack(self, params: PoissonParams) -> np.ndarray:
        return np.r_[np.log(params.weights), np.log(params.rates)]

    def unpack(self, vector, like):
        log_weights, log_rates = np.split(vector, 2)
        if not np.all(np.isfinite(vector)):
            return None
        return PoissonParams(np.exp(log_weights - logsumexp(log_weights)), np.exp(log_rates))


def counts(seed: int, n_rows: int = 3000, rates=(2.0, 4.0, 7.0)) -> np.ndarray:
    """Counts drawn from overlapping Poissons (slow EM, so acceleration shows)."""
    rng = np.random.default_rng(seed)
    return rng.poisson(np.asarray(rates)[rng.integers(len(rates), size=n_rows)])
