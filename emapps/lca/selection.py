"""The number of classes: every K fitted, a table of fit criteria (poLCA's and the
latent class literature's: BIC, AIC, CAIC, adjusted BIC, entropy R2) and the best K."""

import warnings
from dataclasses import dataclass, field

from ..errors import ConvergenceWarning, UserInputError
from .estimator import LatentClassModel

CRITERIA = ("bic", "aic", "caic", "abic")


@dataclass
class ClassSelection:
    criterion: str
    rows: list = field(default_factory=list)
    models: dict = field(default_factory=dict)

    @property
    def best_row(self) -> dict:
        return min(self.rows, key=lambda row: row[self.criterion])

    @property
    def best(self) -> LatentClassModel:
        return self.models[self.best_row["k"]]


def select_classes(X, n_components, criterion="bic", sample_weight=None, item_names=None,
                   progress=None, **settings) -> ClassSelection:
    """Fit a :class:`LatentClassModel` for every K in ``n_components`` (``settings`` are
    its keywords, the same seed for each K); the table's rows hold the criteria, the
    entropy R2, how many starts reached the best maximum, iterations and convergence.
    ``progress()`` is called after each K."""
    if criterion not in CRITERIA:
        raise UserInputError(f"criterion must be one of {', '.join(CRITERIA)}; got "
                             f"{criterion!r}")
    selection = ClassSelection(criterion)
    for k in n_components:
        model = LatentClassModel(k, **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, sample_weight=sample_weight, item_names=item_names)
        selection.rows.append({"k": k, **model.criteria(), "entropy_r2": model.entropy_r2(X),
                               "starts_at_best": model.starts_at_best_,
                               "starts": len(model.start_logliks_), "n_iter": model.n_iter_,
                               "converged": model.converged_})
        selection.models[k] = model
        if progress:
            progress()
    return selection
