"""Accelerators of the EM map: SQUAREM and quasi-Newton.

SQUAREM extrapolation (Varadhan & Roland 2008, Scand. J. Stat. 35:335-353).

From theta0 and two EM maps theta1 = F(theta0), theta2 = F(theta1):
r = theta1 - theta0, v = theta2 - 2 theta1 + theta0, step a = ||r|| / ||v|| (scheme S3)
clamped to [1, step_max], and theta' = theta0 + 2 a r + a^2 v.  a = 1 gives theta2.
The driver then maps theta' once more through F and keeps it only when the
likelihood has not fallen; otherwise it falls back to theta2 (plain EM).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class SquaremStep:
    """Step-length state: step_max grows by ``growth`` each time the clamp binds."""

    step_max: float = 1.0
    growth: float = 4.0
    initial_step_max: float = 1.0

    def extrapolate(self, theta0: np.ndarray, theta1: np.ndarray, theta2: np.ndarray):
        """Return (theta', step length) for one SQUAREM cycle."""
        r = theta1 - theta0
        v = theta2 - 2.0 * theta1 + theta0
        # sums, not BLAS dot products: an idle BLAS thread pool spins and burns CPU
        r_norm = float(np.sqrt(np.sum(r * r)))
        v_norm = float(np.sqrt(np.sum(v * v)))
        if v_norm == 0.0 or not np.isfinite(r_norm / v_norm):
            return theta2, 1.0
        step = min(max(r_norm / v_norm, 1.0), self.step_max)
        if step == self.step_max:
            self.step_max *= self.growth
        return theta0 + 2.0 * step * r + step * step * v, step

    def rejected(self) -> None:
        """The extrapolation lowered the likelihood: shrink the largest step allowed."""
        self.step_max = max(self.initial_step_max, self.step_max / self.growth)


class QuasiNewtonStep:
    """The quasi-Newton acceleration of Zhou, Alexander & Lange (2011, Stat. Comput.
    21:261-273), which ADMIXTURE runs: from theta0 and its two EM maps theta1, theta2,
    the secant pair u = theta1 - theta0, v = theta2 - theta1 joins the last ``secants``
    pairs (U, V), and theta' = theta1 - V (U'U - U'V)^-1 U'(theta0 - theta1), the
    Newton step on the fixed point of the EM map with its Jacobian approximated from
    the secants.  The driver keeps theta' only when the likelihood has not fallen."""

    def __init__(self, secants: int = 3):
        self.secants = secants
        self.pairs = []

    def extrapolate(self, theta0: np.ndarray, theta1: np.ndarray, theta2: np.ndarray):
        """Return (theta', 1.0 when it is theta2 (no usable secants) else 0.0)."""
        self.pairs.append((theta1 - theta0, theta2 - theta1))
        self.pairs = self.pairs[-self.secants:]
        U = np.column_stack([u for u, _ in self.pairs])
        V = np.column_stack([v for _, v in self.pairs])
        gram = U.T @ U - U.T @ V
        try:
            coefficients = np.linalg.solve(gram, U.T @ (theta0 - theta1))
        except np.linalg.LinAlgError:
            self.pairs = self.pairs[-1:]
            return theta2, 1.0
        candidate = theta1 - V @ coefficients
        if not np.all(np.isfinite(candidate)):
            self.pairs = []
            return theta2, 1.0
        return candidate, 0.0

    def rejected(self) -> None:
        """The step lowered the likelihood: start the secants afresh."""
        self.pairs = self.pairs[-1:]
