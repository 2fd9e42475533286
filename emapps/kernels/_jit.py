"""One place that configures numba for every kernel: cache location and switch.

Compiled kernels are cached in a user cache folder
(``$XDG_CACHE_HOME/emapps/numba/<hash of the kernel sources>``) so a second run starts
fast, nothing is written into site-packages (which may be read-only), and uninstalls
leave no stray files.  numba keys each cached function on its own file only, so a
kernel inlined from another module could go stale; the source hash in the folder name
rules that out, and folders of other sources are removed.  ``NUMBA_CACHE_DIR`` wins
when set; ``EMAPPS_NUMBA_CACHE=0`` turns caching off.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numba

from ..core.runtime import kernel_cache_wanted


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _cache_enabled() -> bool:
    if not kernel_cache_wanted():
        return False
    if os.environ.get("NUMBA_CACHE_DIR"):
        return _writable(Path(os.environ["NUMBA_CACHE_DIR"]))
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parent = base / "emapps" / "numba"
    folder = parent / _sources_hash()
    if not folder.exists() and parent.is_dir():
        for stale in parent.iterdir():
            shutil.rmtree(stale, ignore_errors=True)
    if not _writable(folder):
        return False
    numba.config.CACHE_DIR = str(folder)
    return True


def _sources_hash() -> str:
    """Digest of every kernel module's source (and numba's version)."""
    digest = hashlib.sha1(numba.__version__.encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


CACHE = _cache_enabled()

#: fast-math flags for reductions: reassociation lets LLVM vectorise sums;
#: no 'nnan'/'ninf', so -inf log-weights keep their meaning.
REDUCE_FLAGS = {"reassoc", "contract", "nsz"}


def kernel(**options):
    """``numba.njit`` with the project's cache setting, the GIL released, and numpy's
    error model (x / 0 gives inf instead of a check and a branch that blocks
    vectorisation)."""
    return numba.njit(cache=CACHE, nogil=True, error_model="numpy", **options)
