"""The run record of one EM fit, in the schema every command writes
(:mod:`emapps.core.record`)."""

from ..core.record import run_record
from .driver import EMResult


def fit_record(result: EMResult, settings: dict, warnings=(), **results) -> dict:
    """Everything needed to reproduce and audit a fit, as plain JSON-able values."""
    if not result.converged:
        warnings = [*warnings, f"EM did not converge in {result.n_iter} iterations"]
    return run_record(settings=settings, seed=result.seed, log_likelihood=result.loglik,
                      trace=result.trace, n_iter=result.n_iter, converged=result.converged,
                      timings=result.timings, warnings=warnings, restart=result.restart,
                      restart_logliks=list(result.restart_logliks), n_estep=result.n_estep,
                      stop_reason=result.stop_reason, trace_esteps=list(result.trace_esteps),
                      **results)
