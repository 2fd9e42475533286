"""Output safety: a run's outputs checked against its inputs and each other before any
work, atomic writes (a temporary file in the target folder, then a rename) and output
sets (every file of a run renamed into place together, once all are written)."""

import errno
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
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


#: (temporary, target) renames waiting for the output set open in this context
_pending_renames: ContextVar = ContextVar("pending_renames", default=None)

#: environment variable naming the write (1, 2, ...) that fails as a full disk would:
#: how the tests check that a fault at any write leaves every earlier file as it was
FAULT_VARIABLE = "EMAPPS_FAULT_AT_WRITE"
_writes_started = [0]


@contextmanager
def output_set(independent: bool = False):
    """Files written inside the block (through :func:`atomic_path`) are renamed into
    place together when it ends, in the order they were written (so a run record
    written last lands last); if the block fails, none is and the temporaries go.
    A nested block joins the outer set, unless ``independent`` (a unit that must land
    on its own: one command of the demo, one image of a folder)."""
    if _pending_renames.get() is not None and not independent:
        yield
        return
    pending = []
    token = _pending_renames.set(pending)
    try:
        yield
    except BaseException:
        for temporary, _ in pending:
            Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        _pending_renames.reset(token)
    for temporary, target in pending:
        os.replace(temporary, target)


def commit_path(temporary, target) -> None:
    """Rename a finished temporary file into place, now or with the open output set."""
    pending = _pending_renames.get()
    if pending is None:
        os.replace(temporary, target)
    else:
        pending.append((str(temporary), str(target)))


def count_writes_from_zero() -> None:
    """Start a run's count of writes (for :data:`FAULT_VARIABLE`)."""
    _writes_started[0] = 0


def _injected_fault(path) -> None:
    _writes_started[0] += 1
    if os.environ.get(FAULT_VARIABLE) == str(_writes_started[0]):
        raise OSError(errno.ENOSPC, "No space left on device (injected)", str(path))


@contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` (at the
    end of the open :func:`output_set`, if any)."""
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
        _injected_fault(path)
        os.chmod(temporary, 0o666 & ~UMASK)  # mkstemp made it private; use the usual mode
        commit_path(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def commit_files(texts: dict, manifest=None) -> dict:
    """Write several files as one set (see :func:`output_set`): a failure (a full disk,
    an interruption) leaves every earlier file as it was.  ``manifest`` is (path,
    function of {path: sha256} giving its text), written and renamed last, so the set's
    own index names the digest of every member; returns {path: sha256}."""
    import hashlib

    digests = {str(path): hashlib.sha256(text.encode()).hexdigest()
               for path, text in texts.items()}
    with output_set():
        for path, text in texts.items():
            write_text(path, text)
        if manifest is not None:
            write_text(manifest[0], manifest[1](digests))
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
