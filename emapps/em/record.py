"""Run records: one JSON document per fit (version, settings, seed, trace, timings)."""

import platform
import sys
from datetime import datetime, timezone

from .._version import __version__
from .driver import EMResult


def provenance() -> dict:
    """Which emapps, Python and command produced a result, and when."""
    return {
        "emapps_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "python": platform.python_version(),
    }


def run_record(result: EMResult, settings: dict, **extra) -> dict:
    """Everything needed to reproduce and audit a fit, as plain JSON-able values."""
    return {
        **provenance(),
        "settings": settings,
        "seed": result.seed,
        "restart": result.restart,
        "restart_logliks": list(result.restart_logliks),
        "n_iter": result.n_iter,
        "n_estep": result.n_estep,
        "converged": result.converged,
        "stop_reason": result.stop_reason,
        "loglik": result.loglik,
        "loglik_trace": list(result.trace),
        "trace_esteps": list(result.trace_esteps),
        "timings": result.timings,
        **extra,
    }
