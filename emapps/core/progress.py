"""Progress bars for long commands: on stderr, on a terminal only (never in a log file
or a pipeline's captured output), and silenced by -q."""

import sys
from contextlib import contextmanager


@contextmanager
def progress_bar(unit: str, *, total: int | None = None, quiet: bool = False,
                 initial: int = 0):
    """A tqdm bar (its ``update`` advances it), or None when nobody would see one."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, initial=initial, unit=unit, file=sys.stderr, leave=False) as bar:
        yield bar


def step(bar):
    """A callable that advances ``bar`` by one (nothing when there is no bar)."""
    return None if bar is None else bar.update
