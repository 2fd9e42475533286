"""Genotype imputation and phasing fitted by EM (``emapps impute``)."""

from .cohort_clusters import CohortImputer
from .cohort_copier import CohortCopier
from .imputation import impute
from .imputed import Imputed
from .io import read_calls, read_genetic_map
from .reference import ReferenceImputer

__all__ = ["CohortCopier", "CohortImputer", "Imputed", "ReferenceImputer", "impute",
           "read_calls", "read_genetic_map"]
