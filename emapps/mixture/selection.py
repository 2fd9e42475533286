"""Model selection over K and covariance types, as R mclust's BIC table.

Every (K, covariance type) is fitted; the table holds log-likelihood, number of
parameters, BIC, AIC and ICL (lower is better for all three, scikit-learn's sign).
"""

import warnings
from dataclasses import dataclass, field

from ..errors import ConvergenceWarning, DegenerateModelError, UserInputError
from .gaussian import GaussianMixture

CRITERIA = ("bic", "aic", "icl")


@dataclass
class Selection:
    """The table of candidate fits and the best model by ``criterion``."""

    criterion: str
    rows: list = field(default_factory=list)
    best: GaussianMixture | None = None
    models: dict = field(default_factory=dict)

    @property
    def best_row(self) -> dict:
        return min((row for row in self.rows if row["ok"]), key=lambda row: row[self.criterion])


def select_model(X, n_components, covariance_types=("full",), criterion="bic",
                 sample_weight=None, progress=None, **settings) -> Selection:
    """Fit every K in ``n_components`` for every covariance type; keep the best.

    Candidates that fail (degenerate covariances, K > rows) are kept in the table
    with ``ok=False`` and the reason, as mclust reports NA.  ``progress()``, when given,
    is called after each candidate; a candidate that does not converge is in the table
    with ``converged=False`` (no warning is raised for it).
    """
    if criterion not in CRITERIA:
        raise UserInputError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}")
    selection = Selection(criterion)
    for covariance_type in covariance_types:
        for k in n_components:
            model = GaussianMixture(k, covariance_type=covariance_type, **settings)
            row = {"k": k, "covariance": covariance_type}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X, sample_weight=sample_weight)
            except DegenerateModelError as error:
                selection.rows.append({**row, "ok": False, "reason": str(error)})
                continue
            finally:
                if progress:
                    progress()
            row.update(ok=True, **model.criteria(X, sample_weight),
                       n_iter=model.n_iter_, converged=model.converged_)
            selection.rows.append(row)
            selection.models[(k, covariance_type)] = model
    if not any(row["ok"] for row in selection.rows):
        raise DegenerateModelError("no candidate model could be fitted: "
                                   + selection.rows[-1]["reason"])
    best = selection.best_row
    selection.best = selection.models[(best["k"], best["covariance"])]
    return selection
