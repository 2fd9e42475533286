"""Image files in and out: finding inputs, decoding with Pillow, label maps, overlays,
posteriors and the per-folder manifest.  The only module here that touches files."""

import glob
import json
import re
import warnings
from pathlib import Path, PurePath

import numpy as np

from ..errors import UserInputError
from ..io.outputs import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp",
                  ".ppm", ".pgm", ".pnm")
LABELS_SUFFIX = ".png"
REGIONS_SUFFIX = ".regions.png"
OVERLAY_SUFFIX = ".overlay.png"
POSTERIORS_SUFFIX = ".npz"
MANIFEST = "manifest.jsonl"


class ImageReadError(UserInputError):
    """An input file that is not a readable image."""


def natural_key(text: str):
    """Sort key that orders 'img2' before 'img10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def is_output_name(name: str) -> bool:
    """Whether a file name is one of the extra PNGs a segment run writes."""
    return name.endswith(OVERLAY_SUFFIX) or name.endswith(REGIONS_SUFFIX)


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not is_output_name(path.name)


def find_images(inputs) -> list[tuple[Path, PurePath]]:
    """[(path, relative path)] for files, folders (recursive) and globs, in natural order.

    Folders contribute files with an image suffix; the relative path (mirrored under the
    output folder) is taken from the folder or the glob's fixed prefix.
    """
    found: list[tuple[Path, PurePath]] = []
    for item in map(str, inputs):
        path = Path(item)
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file() and _is_image_name(p)]
            found += sorted(((p, p.relative_to(path)) for p in files),
                            key=lambda pair: natural_key(str(pair[1])))
        elif path.is_file():
            found.append((path, PurePath(path.name)))
        elif glob.has_magic(item):
            root = Path(_glob_root(item))
            files = [Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file()]
            found += sorted(((p, p.relative_to(root)) for p in files),
                            key=lambda pair: natural_key(str(pair[1])))
        else:
            raise UserInputError(f"{item}: no such file or folder")
    escaping = [str(path) for path, relative in found if ".." in relative.parts]
    if escaping:
        raise UserInputError(f"{escaping[0]}: a '..' after the pattern's first wildcard would "
                             f"write outside the output folder; give that folder instead")
    seen: dict[PurePath, Path] = {}
    for path, relative in found:
        stem = relative.with_suffix("")
        if stem in seen and seen[stem] != path:
            raise UserInputError(f"{seen[stem]} and {path} would both write {stem}.png; "
                                 f"give their folders instead of the files")
        seen[stem] = path
    unique = {relative.with_suffix(""): (path, relative) for path, relative in found}
    return list(unique.values())


def _glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def load_image(path) -> np.ndarray:
    """Pixels as float64 in [0, 1]: (H, W) for grayscale, (H, W, 3) for colour.

    EXIF orientation is applied, 16-bit data keep their precision, palettes are expanded
    and alpha is dropped.  Unreadable files raise :class:`ImageReadError`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if _deep_colour_tiff(image):
                    return _tiff_pixels(path)
                image = ImageOps.exif_transpose(image)
                return _pixels(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageReadError(f"{path}: more than {Image.MAX_IMAGE_PIXELS} pixels, the limit "
                             f"against decompression bombs (raise it with --max-pixels)") \
            from None
    except UnidentifiedImageError as error:
        raise ImageReadError(f"{path}: not a readable image ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"{path}: corrupt or truncated image ({error})") from None


def _deep_colour_tiff(image) -> bool:
    """A TIFF with more than 8 bits per colour sample, which Pillow reduces to 8 bits."""
    if image.format != "TIFF" or image.mode not in ("RGB", "RGBA", "RGBX", "CMYK"):
        return False
    bits = image.tag_v2.get(258, (8,))
    return max(bits if isinstance(bits, tuple) else (bits,)) > 8


def _tiff_pixels(path) -> np.ndarray:
    """First page of a 16/32-bit or float colour TIFF, via tifffile, scaled to [0, 1]."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        values = np.asarray(page.asarray())
        if values.ndim == 3 and page.axes.startswith("S"):  # planar configuration
            values = np.moveaxis(values, 0, 2)
    if values.ndim != 3 or values.shape[2] < 3:
        raise ValueError(f"unexpected TIFF layout {values.shape}")
    rgb = values[..., :3]
    if np.issubdtype(rgb.dtype, np.integer):
        return rgb.astype(np.float64) / float(np.iinfo(rgb.dtype).max)
    rgb = rgb.astype(np.float64)
    low, high = np.nanmin(rgb), np.nanmax(rgb)
    if 0.0 <= low and high <= 1.0:
        return rgb
    return (rgb - low) / (high - low) if high > low else np.zeros_like(rgb)


def _pixels(image) -> np.ndarray:
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("1", "L", "LA"):
        return _unit(image.convert("L"))
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) <= 65535 else values.max()
        return np.clip(values, 0, None) / top
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = np.nanmin(values), np.nanmax(values)
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    if mode != "RGB":
        image = image.convert("RGB")
    return _unit(image)


def _unit(image) -> np.ndarray:
    """8-bit pixels as float64 in [0, 1], scaled in place (one full-size array)."""
    values = np.asarray(image, dtype=np.float64)
    values *= 1.0 / 255.0
    return values


def write_labels(path, labels: np.ndarray) -> None:
    """Single-channel PNG label map: uint8, or uint16 above 255 labels."""
    from PIL import Image

    dtype = np.uint8 if labels.max(initial=0) <= 255 else np.uint16
    with atomic_path(path, suffix=".png") as temporary:
        Image.fromarray(labels.astype(dtype)).save(temporary, format="PNG", compress_level=1)


def read_labels(path) -> np.ndarray:
    """A label map PNG as an integer array."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image).astype(np.int64)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageReadError(f"{path}: not a readable label map ({error})") from None


def write_overlay(path, image: np.ndarray, labels: np.ndarray) -> None:
    """The image with region boundaries drawn in yellow, as an 8-bit PNG."""
    from PIL import Image
    from skimage.segmentation import find_boundaries

    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    out = (rgb * 255.0 + 0.5).astype(np.uint8)
    out[find_boundaries(labels, mode="inner")] = (255, 255, 0)
    with atomic_path(path, suffix=".png") as temporary:
        Image.fromarray(out).save(temporary, format="PNG", compress_level=1)


def write_posteriors(path, posteriors: np.ndarray, labels: np.ndarray) -> None:
    """(H, W, K) posterior probabilities (float32) and the labels, as .npz."""
    with atomic_path(path, suffix=".npz") as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, posteriors=posteriors.astype(np.float32), labels=labels)


def read_manifest(outdir) -> dict[str, dict]:
    """Last manifest record per image (by relative path); unreadable lines are ignored
    (an interrupted run may leave half a line)."""
    path = Path(outdir) / MANIFEST
    records: dict[str, dict] = {}
    if not path.exists():
        return records
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and "image" in record:
            records[record["image"]] = record
    return records


def append_manifest(outdir, record: dict) -> None:
    """Add one JSON line (the image's outputs are complete when it is written); a manifest
    that is a symbolic link is refused, so nothing is appended outside the folder."""
    path = Path(outdir) / MANIFEST
    if path.is_symlink():
        raise UserInputError(f"{path} is a symbolic link; the manifest must be a file of the "
                             f"output folder")
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    with open(path, "ab+") as handle:
        if handle.seek(0, 2):
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":  # half a line left by an interrupted run
                line = b"\n" + line
        handle.write(line)
