"""Genotype imputation and phasing fitted by EM (``emapps impute``)."""

from .io import read_calls, read_plink_map
from .model import Imputed, ReferenceImputer

__all__ = ["Imputed", "ReferenceImputer", "read_calls", "read_plink_map"]
