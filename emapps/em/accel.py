"""SQUAREM extrapolation (Varadhan & Roland 2008, Scand. J. Stat. 35:335-353).

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
        r_norm = float(np.sqrt(r @ r))
        v_norm = float(np.sqrt(v @ v))
        if v_norm == 0.0 or not np.isfinite(r_norm / v_norm):
            return theta2, 1.0
        step = min(max(r_norm / v_norm, 1.0), self.step_max)
        if step == self.step_max:
            self.step_max *= self.growth
        return theta0 + 2.0 * step * r + step * step * v, step

    def rejected(self) -> None:
        """The extrapolation lowered the likelihood: shrink the largest step allowed."""
        self.step_max = max(self.initial_step_max, self.step_max / self.growth)
