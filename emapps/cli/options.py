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


class DefaultRunGroup(click.Group):
    """A group whose ``run`` command is the default: ``emapps X INPUT...`` runs
    ``emapps X run INPUT...``, other subcommands (``score``, ...) by name."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)
