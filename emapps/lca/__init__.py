"""Latent class analysis: classes behind categorical items (poLCA's model)."""

from .estimator import LatentClassModel

__all__ = ["LatentClassModel"]
