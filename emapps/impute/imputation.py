"""One entry point, :func:`impute`: the library chooses the algorithm from what it is
given (a reference panel or not, and the cohort model), so every caller (the command
line, a workflow, a notebook) gets the same choice and the same defaults."""

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError
from .cohort_clusters import CohortImputer
from .cohort_copier import CohortCopier
from .imputed import ImputedSites
from .io import Calls
from .reference import ReferenceImputer

#: cohort mode's models (without a panel), by name
COHORT_MODELS = {"copying": CohortCopier, "clusters": CohortImputer}


class NotASettingError(UserInputError):
    """Settings given that the chosen imputation does not take (``names``)."""

    def __init__(self, names, mode, kind):
        self.names, self.mode = names, mode
        super().__init__(f"{', '.join(names)}: not a setting of {mode} imputation "
                         f"({kind.__name__} takes {', '.join(kind.default_params())})")


@dataclass
class Imputation:
    """What :func:`impute` did: the fitted ``estimator``, its ``result`` (every site and
    sample, with dosages and genotype probabilities), the ``mode`` ('panel' or the
    cohort model's name) and the target records left out (``dropped``, by reason)."""

    estimator: object
    result: ImputedSites
    mode: str
    dropped: dict

    def fit_fields(self) -> dict:
        """The run record's log_likelihood, trace, n_iter and converged: panel mode's
        final EM, the cluster model's best start (its other starts are in the result's
        record), and none for the copying cohort model, which fits no likelihood."""
        estimator = self.estimator
        if self.mode == "panel":
            return {"log_likelihood": estimator.loglik_, "trace": estimator.trace_,
                    "n_iter": estimator.n_iter_, "converged": estimator.converged_}
        if self.mode == "clusters":
            best = max(range(len(estimator.logliks_)), key=estimator.logliks_.__getitem__)
            return {"log_likelihood": estimator.logliks_[best],
                    "trace": estimator.traces_[best], "n_iter": estimator.n_iter_[best],
                    "converged": all(estimator.converged_)}
        return {"log_likelihood": None, "trace": [], "n_iter": None, "converged": None}

    def summary(self) -> str:
        """One line on what was imputed."""
        record, result = self.result.record, self.result
        if self.mode == "panel":
            params = self.estimator.params_
            return (f"{len(result.samples)} samples, {record['typed_sites']} typed of "
                    f"{record['panel_sites']} panel sites ({record['panel_haplotypes']} "
                    f"haplotypes); theta {params.theta:.4g}, eps {params.mismatch:.3g}, "
                    f"log-likelihood {self.estimator.loglik_:.2f}")
        cells = (f"{len(result.samples)} samples x {result.n_sites} sites, "
                 f"{record['missing_calls']} missing calls filled")
        if self.mode == "clusters":
            return (f"{cells}; {self.estimator.n_clusters} clusters, {self.estimator.n_init} "
                    f"starts, log-likelihoods "
                    + ", ".join(f"{value:.1f}" for value in self.estimator.logliks_))
        return (f"{cells} and phased; {self.estimator.rounds} + {record['refine_rounds']} "
                f"rounds over the cohort's own haplotypes, theta {record['theta']:.3g}")


def impute(target: Calls, panel: Calls | None = None, *, cohort_model: str = "copying",
           genetic_map=None, random_state=None, progress=None, sex: dict | None = None,
           **settings) -> Imputation:
    """Impute (and phase) ``target``: from ``panel`` with :class:`ReferenceImputer`, or,
    without one, its missing calls from the cohort itself with the ``cohort_model``
    (:class:`CohortCopier`, or :class:`CohortImputer` for 'clusters').

    ``settings`` are that estimator's parameters (its defaults where not given);
    ``genetic_map`` (from :func:`read_genetic_map`) sets the copying models' switch rates;
    ``progress()``, when given, is called after each phasing round or EM run;
    ``sex`` ({sample: 'male' | 'female'}, panel mode) makes males haploid where the
    panel's males are (chromosome X outside the PARs).
    """
    if panel is not None:
        kind, mode = ReferenceImputer, "panel"
    elif cohort_model in COHORT_MODELS:
        kind, mode = COHORT_MODELS[cohort_model], cohort_model
    else:
        raise UserInputError(f"cohort_model must be one of {', '.join(COHORT_MODELS)}; "
                             f"got {cohort_model!r}")
    accepted = kind.default_params()
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise NotASettingError(unknown, mode, kind)
    if "genetic_map" in accepted:
        settings["genetic_map"] = genetic_map
    estimator = kind(random_state=random_state, **settings)
    if panel is None:
        haploid = np.argwhere(target.haploid)
        if haploid.size or sex:
            where = (f"; sample {target.samples[haploid[0][0]]} has one at "
                     f"{target.chrom[haploid[0][1]]}:{target.pos[haploid[0][1]]}"
                     if haploid.size else "")
            raise UserInputError(f"{target.source}: cohort mode imputes diploid calls only; "
                                 f"impute haploid calls (chromosome X) from a panel with "
                                 f"--ref{where}")
        estimator.fit(target, progress=progress)
        dropped = dict(target.skipped)
    else:
        estimator.fit(target, panel, progress=progress, sex=sex)
    result = estimator.predict()
    if panel is not None:
        dropped = {**result.record["dropped_target_sites"], **target.skipped}
    return Imputation(estimator, result, mode, dropped)
