"""Factor analysis by EM, with missing values."""

from .analysis import FactorAnalysis

__all__ = ["FactorAnalysis"]
