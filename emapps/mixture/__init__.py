"""Gaussian mixtures fitted by the emapps EM driver."""

from .gaussian import GaussianMixture

__all__ = ["GaussianMixture"]
