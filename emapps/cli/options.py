"""Small helpers shared by the subcommands' CLIs (option parsing, threads, records)."""

import click

from ..errors import UserInputError


def parse_int_range(text: str, name: str) -> list[int]:
    """'3' -> [3]; '1..9' -> [1..9]; '2,4,8' -> [2, 4, 8]."""
    try:
        if ".." in text:
            low, high = (int(part) for part in text.split("..", 1))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserInputError(f"{name} must be a number, a range such as 1..9 or a list "
                             f"such as 2,4,8; got {text!r}") from None
    if ".." in text and low > high:
        raise UserInputError(f"{name} {text}: a range goes from low to high, e.g. "
                             f"{high}..{low}")
    if not values or min(values) < 1:
        raise UserInputError(f"{name} must be positive; got {text!r}")
    return values


def parse_choices(text: str, name: str, choices) -> list[str]:
    """Comma-separated subset of ``choices`` ('all' for every one)."""
    if text == "all":
        return list(choices)
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [value for value in values if value not in choices]
    if unknown or not values:
        raise UserInputError(f"{name} must be among {', '.join(choices)} (or 'all'); "
                             f"got {text!r}")
    return values


def set_threads(threads: int | None) -> None:
    """Kernel worker threads for this process (results do not depend on the count)."""
    from ..core.runtime import MAX_THREADS
    from ..core.runtime import set_threads as set_process_threads

    if threads is None:
        return
    try:
        set_process_threads(threads)
    except ValueError:
        raise UserInputError(f"--threads must be between 1 and {MAX_THREADS}; "
                             f"got {threads}") from None


def resolve_seed(seed: int | None) -> int:
    """The given seed, or fresh entropy (63 bits) that is then recorded like a given one."""
    if seed is not None:
        return seed
    import numpy as np
    return int(np.random.SeedSequence().entropy % 2**63)


threads_option = click.option("--threads", "-@", type=int, default=None,
                              help="Worker threads (default: all cores).")
seed_option = click.option("--seed", type=click.IntRange(min=0), default=None,
                           help="Random seed; the seed used is always recorded.")
model_output_option = click.option("-o", "--output", default=None,
                                   help="Write the chosen model (.npz).")
record_option = click.option("--json", "--record", "record", default=None,
                             help="Write the run record (JSON) here.")


class DefaultRunGroup(click.Group):
    """A group whose ``run`` command is the default: ``emapps X INPUT...`` runs
    ``emapps X run INPUT...``, other subcommands (``score``, ...) by name."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def run_record_option(command):
    """``--json PATH`` for a command that fits no model: the shared run record (see
    emapps.core.record) with the command's options as its settings and the dict the
    command returns as its results (a ``seed`` in it is the seed the run used).  Put it
    under the ``@group.command()`` line."""
    import functools
    import os
    import time

    @functools.wraps(command)
    def with_record(*args, record_path=None, **options):
        from ..core.record import run_record
        from ..io.outputs import check_outputs, write_json

        output = options.get("output")
        inputs = [value for name, value in options.items() if isinstance(value, str)
                  and name != "output" and value != "-" and os.path.isfile(value)]
        check_outputs([record_path, output], inputs=inputs)
        started = time.perf_counter()
        results = dict(command(*args, **options) or {})
        seed = results.pop("seed", options.get("seed"))   # a seed drawn in the command
        if record_path:
            write_json(record_path, run_record(
                settings=options, seed=seed, log_likelihood=None, trace=[],
                n_iter=None, converged=None,
                timings={"total": time.perf_counter() - started}, **results))
        return 0

    return click.option("--json", "record_path", default=None,
                        help="Write the run record (JSON) here.")(with_record)
