"""Factor analysis and mixtures of factor analysers by EM, with missing values."""

from .analysis import FactorAnalysis, MixtureOfFactorAnalysers

__all__ = ["FactorAnalysis", "MixtureOfFactorAnalysers"]
