"""Convergence monitor: keeps the log-likelihood history and decides when to stop."""

import math
import sys
import warnings
from dataclasses import dataclass, field

from ..errors import NonFiniteObjectiveError

TOL_MODES = ("mean", "total", "relative")


@dataclass
class ConvergenceMonitor:
    """Stop when |delta| < tol, where delta is the change in log-likelihood per iteration.

    ``tol_on`` picks the scale: 'mean' (per unit of sample weight, as scikit-learn),
    'total' (the summed log-likelihood, as haplo.em) or 'relative' (delta / |loglik|).
    """

    tol: float = 1e-3
    tol_on: str = "mean"
    max_iter: int = 100
    verbose: bool = False
    history: list = field(default_factory=list)
    decrease_tol: float = 1e-9

    def __post_init__(self):
        if self.tol_on not in TOL_MODES:
            raise ValueError(f"tol_on must be one of {TOL_MODES}, got {self.tol_on!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")

    def _scaled(self, loglik: float, weight: float) -> float:
        return loglik / weight if self.tol_on == "mean" else loglik

    def report(self, loglik: float, weight: float = 1.0) -> bool:
        """Record one value; return True when converged.  A NaN or infinite value is an
        error: no later iteration can be trusted."""
        if not math.isfinite(loglik):
            raise NonFiniteObjectiveError(
                f"the objective became {loglik} at EM iteration {len(self.history) + 1}: "
                f"the data hold values too large for double precision (rescale them) or "
                f"the model collapsed (raise the regularisation or lower K)")
        previous = self.history[-1] if self.history else None
        self.history.append(loglik)
        if previous is None:
            delta = float("inf")
        elif self.tol_on == "relative":
            delta = (loglik - previous) / max(abs(loglik), 1e-300)
        else:
            delta = self._scaled(loglik, weight) - self._scaled(previous, weight)
        if self.verbose:
            print(f"iter {len(self.history):5d}  loglik {loglik:.10g}  delta {delta:.3e}",
                  file=sys.stderr)
        if previous is not None and loglik < previous - self.decrease_tol * max(1.0, abs(previous)):
            warnings.warn(f"log-likelihood decreased at iteration {len(self.history)}: "
                          f"{previous:.12g} -> {loglik:.12g}", RuntimeWarning, stacklevel=3)
        return abs(delta) < self.tol
