"""emapps: the EM algorithm at work on real domain problems."""

from ._version import __version__

__all__ = ["GaussianMixture", "__version__"]


def __getattr__(name):
    # Lazy: `import emapps` (and `emapps --help`) must not pay for numba.
    if name == "GaussianMixture":
        from .mixture import GaussianMixture
        return GaussianMixture
    raise AttributeError(f"module 'emapps' has no attribute {name!r}")
