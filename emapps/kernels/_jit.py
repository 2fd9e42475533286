"""One place that configures numba for every kernel: cache location and switch.

Compiled kernels are cached in a user cache folder (``$XDG_CACHE_HOME/emapps/numba``)
so a second run starts fast, nothing is written into site-packages (which may be
read-only), and uninstalls leave no stray files.  ``NUMBA_CACHE_DIR`` wins when set;
``EMAPPS_NUMBA_CACHE=0`` turns caching off.
"""

import os
import tempfile
from pathlib import Path

import numba


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _cache_enabled() -> bool:
    if os.environ.get("EMAPPS_NUMBA_CACHE", "1") == "0":
        return False
    if os.environ.get("NUMBA_CACHE_DIR"):
        return _writable(Path(os.environ["NUMBA_CACHE_DIR"]))
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "emapps" / "numba"
    if not _writable(folder):
        return False
    numba.config.CACHE_DIR = str(folder)
    return True


CACHE = _cache_enabled()

#: fast-math flags for reductions: reassociation lets LLVM vectorise sums;
#: no 'nnan'/'ninf', so -inf log-weights keep their meaning.
REDUCE_FLAGS = {"reassoc", "contract", "nsz"}


def kernel(**options):
    """``numba.njit`` with the project's cache setting and the GIL released."""
    return numba.njit(cache=CACHE, nogil=True, **options)
