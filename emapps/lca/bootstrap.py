"""Bootstrap standard errors of a latent class fit: respondents resampled with
replacement (as counts, so identical respondents stay one row), each replicate refitted
by EM from the fitted parameters, which keeps the classes in their order."""

import numpy as np

from ..core.estimator import seed_sequence
from ..em import fit_em
from ..errors import UserInputError
from .model import LatentClassEM
from .responses import responses


def bootstrap_errors(model, X, n_boot: int, random_state=None) -> dict:
    """Standard deviations over ``n_boot`` replicates of ``weights_``,
    ``probabilities_``, ``means_``, ``variances_``, ``rates_`` and ``coefficients_``
    (same shapes), with the replicates' log-likelihoods."""
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise UserInputError(f"the bootstrap needs at least 2 replicates; got {n_boot!r}")
    codes, continuous, counts, covariates = model._indicators(model._columns(X))
    n_rows = codes.shape[0]
    with np.errstate(invalid="ignore"):
        spread = np.nanvar(continuous, axis=0) if continuous.shape[1] else np.zeros(0)
    em = LatentClassEM(model.offsets_, model.n_components, spread)
    generator = np.random.default_rng(seed_sequence(random_state))
    draws = {name: [] for name in ("weights", "probs", "means", "variances", "rates",
                                   "coefficients")}
    logliks = []
    for _ in range(n_boot):
        weight = generator.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows)).astype(float)
        data = responses(codes, model.offsets_, weight, continuous, counts, covariates)
        result = fit_em(em, data, init_params=model.params_, max_iter=model.max_iter,
                        tol=model.tol, tol_on="relative", accelerate=model.accelerate,
                        warn=False)
        logliks.append(result.loglik)
        for name in draws:
            draws[name].append(getattr(result.params, name))
    spread_of = {name: np.std(np.array(values), axis=0, ddof=1)
                 for name, values in draws.items()}
    offsets = model.offsets_
    return {"weights": spread_of["weights"],
            "probabilities": [spread_of["probs"][start:stop].T.copy()
                              for start, stop in zip(offsets[:-1], offsets[1:])],
            "means": spread_of["means"].T.copy(), "variances": spread_of["variances"].T.copy(),
            "rates": spread_of["rates"].T.copy(), "coefficients": spread_of["coefficients"],
            "replicates": int(n_boot), "log_likelihoods": logliks}
