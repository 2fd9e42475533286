"""Model files: the arrays and their JSON metadata in one .npz, written atomically, so
a model is one file that is either wholly old or wholly new; never pickle."""

import json
import zipfile

import numpy as np

from .._version import __version__
from ..errors import UserInputError
from .outputs import atomic_path, plain


def write_model(path, file_format: str, meta: dict, arrays: dict) -> None:
    """``arrays`` and ``meta`` (with ``format`` and the emapps version) into ``path``."""
    meta = {"format": file_format, "emapps_version": __version__, **meta}
    with atomic_path(path, suffix=".npz") as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, metadata=np.array(json.dumps(meta, default=plain)), **arrays)


def read_model(path, file_format: str, names=None, what="model") -> tuple[dict, dict]:
    """(metadata, arrays) of a file written by :func:`write_model` in ``file_format``;
    ``names`` lists the arrays that must be there.  A missing, truncated or foreign file
    is one error line naming it (and ``what`` it should have been)."""
    try:
        with open(path, "rb") as handle:   # np.load reads any other file as a pickle
            if handle.read(4) != b"PK\x03\x04":
                raise UserInputError(f"{path}: not an emapps {what} (not a .npz archive)")
        with np.load(path, allow_pickle=False) as archive:
            if "metadata" not in archive.files:
                raise UserInputError(f"{path}: not an emapps {what} (no metadata)")
            meta = json.loads(str(archive["metadata"]))
            arrays = {name: archive[name] for name in archive.files if name != "metadata"}
    except UserInputError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
            json.JSONDecodeError) as error:
        reason = (getattr(error, "strerror", None) or str(error) or type(error).__name__)
        raise UserInputError(f"{path}: not an emapps {what} ({reason})") from None
    if not isinstance(meta, dict) or meta.get("format") != file_format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise UserInputError(f"{path}: not an emapps {what} (format {found!r}, expected "
                             f"{file_format!r})")
    missing = [name for name in (names or ()) if name not in arrays]
    if missing:
        raise UserInputError(f"{path}: not a whole emapps {what} (it lacks "
                             f"{', '.join(missing)})")
    return meta, arrays

