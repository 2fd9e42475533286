"""Output safety: a run's outputs checked against its inputs and each other before any
work, and atomic writes (a temporary file in the target folder, then a rename)."""

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..core.runtime import UMASK
from ..errors import UserInputError


def _identity(path: str):
    """What makes two paths one file: device and inode when it exists (so hard links
    and symlinks match), else the resolved path."""
    try:
        status = os.stat(path)
        return status.st_dev, status.st_ino
    except OSError:
        return os.path.realpath(path)


def check_outputs(outputs, inputs=()) -> None:
    """Refuse, before any work, an output that is one of the run's inputs or another of
    its outputs (under any name), or that cannot be written; None and '-' (stdout) are
    skipped."""
    sources = {_identity(str(path)): str(path) for path in inputs
               if path not in (None, "-") and os.path.exists(str(path))}
    seen = {}
    for path in outputs:
        if path in (None, "-"):
            continue
        identity = _identity(str(path))
        if identity in sources:
            raise UserInputError(f"the output {path} is the input {sources[identity]}; "
                                 f"choose another output path")
        if identity in seen:
            raise UserInputError(f"{seen[identity]} and {path} are the same file; give "
                                 f"each output its own path")
        seen[identity] = str(path)
        check_writable(path)


def check_writable(path) -> None:
    """Fail early (before long work) when ``path`` cannot be written; creates nothing."""
    if path in (None, "-"):
        return
    target = Path(path)
    if target.is_dir():
        raise UserInputError(f"cannot write {path}: it is a folder")
    existing = next(folder for folder in (target.parent, *target.parent.parents)
                    if folder.exists())
    if not existing.is_dir():
        raise UserInputError(f"cannot write {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserInputError(f"cannot write {path}: {existing} is not writable")


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


def commit_files(texts: dict, manifest=None) -> dict:
    """Write several files as one set: every text to a temporary file beside its path,
    and only when all are written are they renamed into place, ``manifest`` last.  A
    failure (a full disk, an interruption) leaves every earlier file as it was.
    ``manifest`` is (path, function of {path: sha256} giving its text), so the set's
    own index names the digest of every member; returns {path: sha256}."""
    import hashlib
    from contextlib import ExitStack

    digests = {str(path): hashlib.sha256(text.encode()).hexdigest()
               for path, text in texts.items()}
    with ExitStack() as stack:   # exits in reverse: the manifest is renamed last
        if manifest is not None:
            temporary = stack.enter_context(atomic_path(manifest[0]))
            temporary.write_text(manifest[1](digests))
        for path, text in texts.items():
            stack.enter_context(atomic_path(path)).write_text(text)
    return digests


def write_json(path, obj) -> None:
    """``obj`` as indented JSON, written atomically; '-' writes it to stdout."""
    text = json.dumps(obj, indent=2, default=plain) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        write_text(path, text)


def plain(value):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
