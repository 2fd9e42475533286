"""Hidden Markov random field segmentation: Gaussian emissions under a Potts prior.

p(z) ∝ prod_i pi_{z_i} exp(beta sum_{i~j} [z_i = z_j]),  x_i | z_i = k ~ N(mu_k, Sigma_k).
EM with a variational (mean-field) E-step maximises the free energy J(q, theta) of
:mod:`emapps.kernels.potts` (the Potts partition function is left out, so J is a
penalised likelihood): the E-step sweeps q (exact coordinate ascent per colour class),
the M-step is the Gaussian mixture's with q as responsibilities.  With ``hard`` the
E-step is ICM (one-hot q).  Neither step can lower J, so the driver's monitor sees a
monotone trace.  beta is fixed, or re-estimated between EM runs by maximising the
mean-field pseudo-likelihood (Newton; the function is concave in beta).
"""

from dataclasses import dataclass

import numpy as np

from ..em import fit_em
from ..mixture.gaussian_em import GaussianMixtureEM
from ..mixture.params import GaussianParams

#: beta is searched in [0, BETA_MAX]; beyond it every pixel copies its neighbours.
BETA_MAX = 10.0


@dataclass(frozen=True)
class PottsParams:
    """Emission parameters and the label distribution q (H*W, K) of every pixel."""

    gaussian: GaussianParams
    q: np.ndarray


def log_joint(X: np.ndarray, gaussian: GaussianParams) -> np.ndarray:
    """(N, K) log pi_k + log N(x_n | mu_k, Sigma_k)."""
    from ..kernels.gaussian import gaussian_log_joint_diag, gaussian_log_joint_full

    run = gaussian_log_joint_full if gaussian.full else gaussian_log_joint_diag
    return run(X, *gaussian.kernel_arguments())


class PottsGaussianEM:
    """EM model (see :mod:`emapps.em.protocol`) over one image's feature rows X (H*W, D).

    ``update_emissions=False`` keeps theta fixed: EM then only runs the E-step sweeps,
    which labels a new image under an already fitted model.
    """

    def __init__(self, shape, beta: float, *, covariance_type="full", reg_covar=1e-6,
                 eight=False, hard=False, update_emissions=True):
        self.shape = tuple(shape)
        self.beta = float(beta)
        self.eight = eight
        self.hard = hard
        self.update_emissions = update_emissions
        self.mixture = GaussianMixtureEM(covariance_type, reg_covar)

    def initial_params(self, data, rng) -> PottsParams:
        raise TypeError("HMRF-EM starts from a fitted mixture: pass init_params to fit_em")

    def e_step(self, params: PottsParams, X: np.ndarray) -> dict:
        from ..kernels.gaussian import weighted_moments
        from ..kernels.potts import potts_pairs, potts_sweep

        log_unary = log_joint(X, params.gaussian)
        q = params.q.copy()
        unary, entropy = potts_sweep(log_unary, q, self.shape, self.beta, self.eight, self.hard)
        objective = unary + entropy + self.beta * potts_pairs(q, self.shape, self.eight)
        stats = {"loglik": objective, "weight": float(X.shape[0]), "q": q}
        if self.update_emissions:
            gaussian = params.gaussian
            stats["nk"], stats["sx"], stats["sxx"] = weighted_moments(X, q, gaussian.means,
                                                                      gaussian.full)
        return stats

    def m_step(self, params: PottsParams, stats: dict) -> PottsParams:
        if not self.update_emissions:
            return PottsParams(params.gaussian, stats["q"])
        gaussian = self.mixture.params_from_stats(params.gaussian.means, stats)
        return PottsParams(gaussian, stats["q"])


def estimate_beta(q: np.ndarray, log_prior: np.ndarray, shape, eight: bool,
                  beta: float, tol: float = 1e-4, max_steps: int = 50) -> float:
    """argmax over [0, BETA_MAX] of the mean-field pseudo-log-likelihood, by Newton."""
    from ..kernels.potts import neighbour_sums, potts_pseudo_loglik

    nbr = neighbour_sums(q, shape, eight)
    for _ in range(max_steps):
        _, grad, hess = potts_pseudo_loglik(log_prior, q, nbr, beta)
        if hess >= 0.0:  # flat: every neighbourhood is uniform
            return beta
        step = -grad / hess
        new = min(max(beta + step, 0.0), BETA_MAX)
        if abs(new - beta) < tol:
            return new
        beta = new
    return beta


@dataclass
class HMRFFit:
    """Outcome of :func:`fit_hmrf`: parameters, beta, and the EM results per beta round."""

    params: PottsParams
    beta: float
    results: list

    @property
    def trace(self) -> list:
        return [value for result in self.results for value in result.trace]

    @property
    def n_iter(self) -> int:
        return sum(result.n_iter for result in self.results)

    @property
    def converged(self) -> bool:
        return self.results[-1].converged


def fit_hmrf(X, shape, gaussian: GaussianParams, q, *, beta=1.0, estimate=False,
             eight=False, hard=False, update_emissions=True, covariance_type="full",
             reg_covar=1e-6, tol=1e-3, max_iter=200, beta_rounds=10,
             beta_tol=0.01) -> HMRFFit:
    """HMRF-EM from emissions ``gaussian`` and labels ``q`` (e.g. a mixture's posteriors);
    with ``estimate`` beta is refitted after each EM run until it moves < beta_tol."""
    params = PottsParams(gaussian, np.ascontiguousarray(q, dtype=np.float64))
    results = []
    for _ in range(beta_rounds if estimate else 1):
        model = PottsGaussianEM(shape, beta, covariance_type=covariance_type,
                                reg_covar=reg_covar, eight=eight, hard=hard,
                                update_emissions=update_emissions)
        result = fit_em(model, X, init_params=params, max_iter=max_iter, tol=tol,
                        tol_on="mean", warn=False)
        results.append(result)
        params = result.params
        if not estimate:
            break
        new_beta = estimate_beta(params.q, np.log(params.gaussian.weights), shape, eight, beta)
        if abs(new_beta - beta) < beta_tol:
            beta = new_beta
            break
        beta = new_beta
    return HMRFFit(params, beta, results)
