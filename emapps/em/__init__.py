"""Generic EM machinery (numpy only, no domain knowledge)."""

from .driver import EMResult, e_step, fit_em, run_em
from .monitor import ConvergenceMonitor
from .protocol import EMModel, Extrapolable, Stats, add_stats

__all__ = ["EMModel", "Extrapolable", "Stats", "add_stats", "ConvergenceMonitor",
           "EMResult", "e_step", "fit_em", "run_em"]
