"""The copying model's rates fitted by EM (Baum-Welch, as MaCH and minimac do).

Each haplotype copies the panel's H haplotypes, switching between typed markers m and
m + 1 with probability rho_m = 1 - exp(-theta x_m), x_m the genetic distance (M) over
H, and misreading a copied allele with probability eps.  The E-step gives the expected
switches J_m per interval and the expected mismatches; the M-step sets eps = mismatches
/ observed alleles and solves sum_m x_m [J_m / (e^(theta x_m) - 1) - (N - J_m)] = 0 for
theta.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import xlogy

from ..kernels.copying.composite import reduced_statistics
from ..kernels.copying.haploid import haploid_statistics


#: theta = 4 Ne starts at Ne = 10,000 (the Li & Stephens / minimac scale)
INITIAL_THETA = 4e4
#: weight, in haplotypes, of the prior that holds each interval's switch rate near the
#: rate of the single theta fitted before it (Beta(a c, a (1 - c)), c that rate)
LOCAL_PRIOR_WEIGHT = 32.0
INITIAL_MISMATCH = 1e-3


class Composites(NamedTuple):
    """Each sample's composite panel: donors per window (see composite_panel)."""
    bounds: np.ndarray      # (W + 1,) window bounds over the typed markers
    offsets: np.ndarray     # (N, W + 1) into candidates
    candidates: np.ndarray
    width: int              # composite haplotypes per sample


@dataclass
class CopyingParams:
    theta: float      # 4 Ne: switch rate per Morgan, times H
    mismatch: float   # eps
    rates: np.ndarray | None = None   # (M - 1) switch rate per interval, when fitted


class CopyingEM:
    """Baum-Welch for (theta, eps) of the haploid copying model over the phased target
    haplotypes (2, N, M) at the typed markers: over the whole panel, or with
    ``composites`` (:class:`Composites`) over each sample's composite panel.  With
    ``prior`` (rates (M - 1), weight a) each interval also gets its own switch rate, as
    MaCH fits them: MAP-EM, rho_m = (J_m + a c_m) / (2N + a) under Beta(a c_m,
    a (1 - c_m)) priors centred on the rates c_m of an earlier single-theta fit."""

    def __init__(self, panel_typed, distances, composites=None):
        self.panel = panel_typed           # (M, H) uint8
        self.scaled = distances / panel_typed.shape[1]   # x_m (Morgans / H)
        self.composites = composites
        self.prior = None
        self._rows = None

    @property
    def rows(self) -> np.ndarray:
        """The panel haplotype-major (H, M), as composite panels read it."""
        if self._rows is None:
            self._rows = np.ascontiguousarray(self.panel.T)
        return self._rows

    def switch(self, params: CopyingParams) -> np.ndarray:
        if params.rates is not None:
            return params.rates
        return -np.expm1(-params.theta * self.scaled)

    def initial_params(self, data, rng) -> CopyingParams:
        return CopyingParams(INITIAL_THETA, INITIAL_MISMATCH)

    def e_step(self, params: CopyingParams, haplotypes) -> dict:
        switch = self.switch(params)
        if self.composites is None:
            flat = haplotypes.reshape(-1, haplotypes.shape[2])
            statistics = haploid_statistics(self.panel, flat, switch, params.mismatch)
        else:
            statistics = reduced_statistics(self.rows, haplotypes, *self.composites, switch,
                                            params.mismatch)
        jumps, mismatches, observed, loglik = statistics
        return {"jumps": jumps, "mismatches": mismatches, "observed": observed,
                "loglik": loglik, "weight": float(2 * haplotypes.shape[1])}

    def m_step(self, params: CopyingParams, stats: dict) -> CopyingParams:
        mismatch = float(np.clip(stats["mismatches"] / max(stats["observed"], 1.0),
                                 1e-6, 0.25))
        theta = self._theta(stats["jumps"], stats["weight"], params.theta)
        rates = None
        if self.prior is not None:
            centre, weight = self.prior
            jumps = np.minimum(stats["jumps"], stats["weight"])
            rates = (jumps + weight * centre) / (stats["weight"] + weight)
        return CopyingParams(theta, mismatch, rates)

    def log_prior(self, params: CopyingParams) -> float:
        """sum_m [a c_m log rho_m + a (1 - c_m) log(1 - rho_m)] over the intervals' switch
        rates (0 without ``prior``)."""
        if self.prior is None:
            return 0.0
        centre, weight = self.prior
        rates = self.switch(params)
        return float(np.sum(xlogy(weight * centre, rates)
                            + xlogy(weight * (1 - centre), 1 - rates)))

    def _theta(self, jumps, n_haps, previous) -> float:
        x = self.scaled
        useful = x > 0
        x, jumps = x[useful], np.minimum(jumps[useful], n_haps)
        if x.size == 0 or jumps.sum() <= 0:
            return previous

        def slope(log_theta):
            theta = np.exp(log_theta)
            return float(np.sum(x * (jumps / np.expm1(np.minimum(theta * x, 700.0))
                                     - (n_haps - jumps)))) * theta
        low, high = np.log(1e-3), np.log(1e12)
        if slope(high) >= 0:
            return float(np.exp(high))
        for _ in range(100):  # the slope falls as theta grows: bisect on log theta
            middle = 0.5 * (low + high)
            if slope(middle) > 0:
                low = middle
            else:
                high = middle
            if high - low < 1e-12:
                break
        return float(np.exp(0.5 * (low + high)))
