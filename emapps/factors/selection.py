"""Mixtures of factor analysers over K and q, in the table of
:mod:`emapps.mixture.selection` (the 'covariance' column reads ``factors=q``)."""

import warnings

from ..errors import ConvergenceWarning, UserInputError
from ..mixture.selection import CRITERIA, Selection
from .analysis import MixtureOfFactorAnalysers


def select_factor_mixtures(X, n_components, n_factors, criterion="bic", progress=None,
                           **settings) -> Selection:
    """Fit :class:`MixtureOfFactorAnalysers` for every K in ``n_components`` and q in
    ``n_factors`` (``settings``: its keywords); the best by ``criterion`` is kept."""
    if criterion not in CRITERIA:
        raise UserInputError(f"criterion must be one of {', '.join(CRITERIA)}; got "
                             f"{criterion!r}")
    selection = Selection(criterion)
    fitted = {}
    for q in n_factors:
        for k in n_components:
            model = MixtureOfFactorAnalysers(k, n_factors=q, **settings)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X)
            key = (k, f"factors={q}")
            selection.rows.append({"k": k, "covariance": key[1], "ok": True,
                                   **model.criteria(X), "n_iter": model.n_iter_,
                                   "converged": model.converged_})
            fitted[key] = model
            if progress:
                progress()
    best = selection.best_row
    selection.models = fitted
    selection.best = fitted[(best["k"], best["covariance"])]
    return selection
