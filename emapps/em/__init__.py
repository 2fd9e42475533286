"""Generic EM machinery (numpy only, no domain knowledge)."""

from .driver import EMResult, best_of_restarts, e_step, fit_em, iterated_search, run_em
from .monitor import ConvergenceMonitor
from .protocol import EMModel, Extrapolable, Stats, add_stats

__all__ = ["EMModel", "Extrapolable", "Stats", "add_stats", "ConvergenceMonitor",
           "EMResult", "best_of_restarts", "e_step", "fit_em",
           "iterated_search", "run_em"]
