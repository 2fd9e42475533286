"""Process-wide settings, all in one place: worker threads, the file-mode mask, Pillow's
image-size limit and whether compiled kernels are cached.

Everything else in emapps is a function of its arguments; these are the only values a
run sets once for the whole process.  Results never depend on the thread count.
"""

import os
from contextlib import contextmanager

#: the most worker threads a run may ask for
MAX_THREADS = 256


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_threads = {"count": usable_cores(), "listeners": []}


def get_threads() -> int:
    """Worker threads every kernel call uses (default: the usable cores)."""
    return _threads["count"]


def set_threads(n_threads: int) -> None:
    """Worker threads for every kernel call in this process."""
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) \
            or not 1 <= n_threads <= MAX_THREADS:
        raise ValueError(f"threads must be an integer from 1 to {MAX_THREADS}, "
                         f"got {n_threads!r}")
    _threads["count"] = n_threads
    for listener in _threads["listeners"]:
        listener(n_threads)


def on_threads_changed(listener) -> None:
    """Call ``listener(n)`` whenever the thread count changes (the kernels' pool)."""
    _threads["listeners"].append(listener)


def _read_umask() -> int:
    mask = os.umask(0)  # the mask can only be read by setting it
    os.umask(mask)
    return mask


#: the process's file-mode mask, read once at start-up; files written atomically get
#: the mode a plain open() would give them
UMASK = _read_umask()


@contextmanager
def max_image_pixels(limit: int | None):
    """Pillow's decompression-bomb limit, in pixels per image, while the block runs (None
    keeps Pillow's); the earlier limit is restored after it."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        from ..errors import UserInputError
        raise UserInputError(f"--max-pixels must be an integer >= 1; got {limit!r}")
    from PIL import Image

    previous = Image.MAX_IMAGE_PIXELS
    if limit is not None:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def available_memory() -> int | None:
    """Bytes of memory available now (None where the system does not say)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(needed: int, what: str, fix: str) -> None:
    """A one-line error, before allocating, when ``needed`` bytes exceed the memory
    available (the system's own answer, not a guess)."""
    available = available_memory()
    if available is not None and needed > available:
        from ..errors import UserInputError
        raise UserInputError(f"{what} needs about {needed / 2**30:.1f} GiB, "
                             f"{available / 2**30:.1f} GiB are available; {fix}")


def kernel_cache_wanted() -> bool:
    """False when ``EMAPPS_NUMBA_CACHE=0`` asks for kernels to be compiled every run."""
    return os.environ.get("EMAPPS_NUMBA_CACHE", "1") != "0"


_command = {"argv": None}


def set_command_line(argv) -> None:
    """The command line being run (``emapps.cli.main`` sets it), for run records."""
    _command["argv"] = None if argv is None else [str(part) for part in argv]


def command_line() -> list[str] | None:
    """The command line being run, or None outside the command line."""
    return None if _command["argv"] is None else list(_command["argv"])
