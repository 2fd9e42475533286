"""Atomic output: write to a temporary file in the target folder, then rename."""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..core.runtime import UMASK
from ..errors import UserInputError



def check_writable(path) -> None:
    """Fail early (before long work) when ``path`` cannot be written."""
    if path in (None, "-"):
        return
    target = Path(path)
    if target.is_dir():
        raise UserInputError(f"cannot write {path}: it is a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as error:
        raise UserInputError(f"cannot write {path}: {error.strerror or error}") from None


@contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it replaces ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=suffix or ".tmp")
    except OSError as error:
        raise UserInputError(f"cannot write {path}: {error.strerror or error}") from None
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~UMASK)  # mkstemp made it private; use the usual mode
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, default=_plain) + "\n")


def _plain(value):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
