"""Online EM for Gaussian mixtures (Cappe & Moulines 2009, JRSS-B 71:593-613).

Per-sample sufficient statistics are a running average, s_t = (1 - g_t) s_{t-1} +
g_t s(batch_t) / n(batch_t) with step g_t = (t + offset)^-decay (g_0 = 1), and the
parameters are the M-step of s_t.  Statistics are kept around a fixed reference
point (the first batch's means) so batches centred on moving means can be averaged.
"""

from dataclasses import dataclass

import numpy as np

from .covariance import recentre_stats
from .gaussian_em import GaussianMixtureEM, MixtureData
from .params import GaussianParams

STAT_KEYS = ("nk", "sx", "sxx")


@dataclass
class OnlineState:
    reference: np.ndarray
    stats: dict
    n_batches: int = 0


def online_step(model: GaussianMixtureEM, params: GaussianParams, state: OnlineState | None,
                data: MixtureData, decay: float, offset: float):
    """One stochastic EM step on a batch; returns (params, state, batch log-likelihood)."""
    batch = model.e_step(params, data)
    if state is None:
        state = OnlineState(params.means.copy(), {})
    batch = recentre_stats(batch, params.means, state.reference)
    scale = 1.0 / batch["weight"]
    step = 1.0 if state.n_batches == 0 else (state.n_batches + offset) ** -decay
    for key in STAT_KEYS:
        previous = state.stats.get(key, 0.0)
        state.stats[key] = (1.0 - step) * previous + step * scale * batch[key]
    state.n_batches += 1
    new_params = model.params_from_stats(state.reference, state.stats)
    return new_params, state, batch["loglik"], batch["weight"]
