"""The run record: one JSON schema that every command writes with ``--json PATH``.

Every record has the same keys (see ``RECORD_KEYS``), then the command's own results:

``version``
    emapps's version.
``command``
    the command line as run (``["emapps", "mixture", "fit", ...]``), or null for a fit
    made from Python.
``settings``
    every setting the result depends on, defaults included.
``seed``
    the seed the run drew its random numbers from (given, or drawn from fresh entropy
    and recorded so the run can be repeated); null where nothing is random.
``log_likelihood``, ``trace``, ``n_iter``, ``converged``
    the final objective (log-likelihood, or the model's stated objective), its value
    at every iteration, the iterations run, and whether the tolerance was met.
``timings``
    seconds per stage, and ``total``.
``warnings``
    what the run warned about (non-convergence, dropped records...), one line each.
"""

import platform
from datetime import datetime, timezone

from .._version import __version__
from . import runtime

RECORD_KEYS = ("version", "command", "settings", "seed", "log_likelihood", "trace",
               "n_iter", "converged", "timings", "warnings")


def run_record(*, settings: dict, seed, log_likelihood, trace, n_iter, converged,
               timings: dict, warnings=(), **results) -> dict:
    """A record with every key of the schema, then ``results``."""
    record = {
        "version": __version__,
        "command": runtime.command_line(),
        "settings": settings,
        "seed": None if seed is None else int(seed),
        "log_likelihood": None if log_likelihood is None else float(log_likelihood),
        "trace": [float(value) for value in trace],
        "n_iter": None if n_iter is None else int(n_iter),
        "converged": None if converged is None else bool(converged),
        "timings": timings,
        "warnings": list(warnings),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    overlap = set(record) & set(results)
    if overlap:
        raise ValueError(f"results repeat the record's own keys: {sorted(overlap)}")
    return {**record, **results}
