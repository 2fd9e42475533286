"""Segmentation quality against human annotations, from one contingency table each.

With n_ij the pixels labelled i by the segmentation and j by the annotator, a_i and b_j
the margins and N the pixel count:
- variation of information VoI = H(S|G) + H(G|S) in bits (split part H(S|G): regions
  cut that the annotator kept whole; merge part H(G|S));
- adapted Rand error 1 - sum(n_ij^2 - n_ij) / ((sum(a_i^2 - a_i) + sum(b_j^2 - b_j)) / 2)
  (the SNEMI3D definition, as ``skimage.metrics.adapted_rand_error``);
- Rand index 1 - (sum a_i^2 + sum b_j^2 - 2 sum n_ij^2) / (N (N - 1)); averaged over the
  annotators it is the probabilistic Rand index (Unnikrishnan et al. 2007).
"""

from pathlib import Path, PurePath

import numpy as np

from ..errors import UserInputError
from . import io

METRICS = ("voi", "voi_split", "voi_merge", "are", "ri")


def _compact(labels: np.ndarray) -> tuple[np.ndarray, int]:
    values, inverse = np.unique(labels.ravel(), return_inverse=True)
    return inverse.ravel(), len(values)


def contingency(segmentation: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Dense (n_segments, n_true_regions) pixel counts."""
    if segmentation.shape != truth.shape:
        raise UserInputError(f"label maps differ in shape: {segmentation.shape} vs "
                             f"{truth.shape}")
    seg, n_seg = _compact(segmentation)
    true, n_true = _compact(truth)
    counts = np.bincount(seg * n_true + true, minlength=n_seg * n_true)
    return counts.reshape(n_seg, n_true).astype(np.float64)


def _entropy_terms(counts: np.ndarray) -> float:
    """sum c log2 c over the non-zero counts."""
    nonzero = counts[counts > 0]
    return float(np.sum(nonzero * np.log2(nonzero)))


def compare(segmentation: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """VoI (total, split, merge; bits), adapted Rand error and Rand index of one pair."""
    table = contingency(segmentation, truth)
    total = table.sum()
    a, b = table.sum(axis=1), table.sum(axis=0)
    joint = _entropy_terms(table)
    split = (_entropy_terms(b) - joint) / total    # H(S | G)
    merge = (_entropy_terms(a) - joint) / total    # H(G | S)
    same_joint = float(np.sum(table * table))
    same_seg, same_true = float(a @ a), float(b @ b)
    denominator = (same_seg - total + same_true - total) / 2.0
    are = 1.0 - (same_joint - total) / denominator if denominator > 0 else 0.0
    pairs = total * (total - 1.0)
    ri = 1.0 - (same_seg + same_true - 2.0 * same_joint) / pairs if pairs > 0 else 1.0
    return {"voi": split + merge, "voi_split": split, "voi_merge": merge, "are": are, "ri": ri}


def score_against_annotators(segmentation: np.ndarray, annotations) -> dict[str, float]:
    """Each metric averaged over the annotators ('ri' averaged is the PRI)."""
    rows = [compare(segmentation, truth) for truth in annotations]
    if not rows:
        raise UserInputError("no annotations to score against")
    return {name: float(np.mean([row[name] for row in rows])) for name in METRICS}


def annotation_files(gt_dir: Path, stem: PurePath) -> list[Path]:
    """Annotator label maps of one image: <stem>/*.png (BSDS layout) or <stem>.png, at the
    image's relative path or, failing that, by its name alone (flat annotations for
    images segmented from subfolders)."""
    for key in dict.fromkeys([stem, PurePath(stem.name)]):
        folder = gt_dir / key
        if folder.is_dir():
            return sorted(folder.glob("*.png"), key=lambda p: io.natural_key(p.name))
        single = gt_dir / key.with_name(key.name + ".png")
        if single.is_file():
            return [single]
    return []


def _image_stem(path: Path, pred_dir: Path) -> PurePath:
    """The image a label map belongs to: its path without the suffix, relative to the
    nearest folder holding a manifest (a run's output folder, e.g. a workflow's batchK/),
    or to ``pred_dir``."""
    folder = next(folder for folder in path.parents
                  if folder == pred_dir or (folder / io.MANIFEST).is_file())
    return path.relative_to(folder).with_suffix("")


def label_maps(pred_dir: Path, which: str = "auto") -> list[tuple[PurePath, Path]]:
    """[(image stem, label map)] of a segment run: class maps, region maps, or region maps
    where written ('auto')."""
    classes = {}
    for path in pred_dir.rglob(f"*{io.LABELS_SUFFIX}"):
        if io.is_output_name(path.name):
            continue
        stem = _image_stem(path, pred_dir)
        if stem in classes:
            raise UserInputError(f"{pred_dir}: two label maps for the image {stem}: "
                                 f"{classes[stem]} and {path}")
        classes[stem] = path
    chosen = {}
    for stem, path in classes.items():
        regions = path.with_name(stem.name + io.REGIONS_SUFFIX)
        if which == "regions" and not regions.is_file():
            raise UserInputError(f"{regions}: no regions map (run without --no-regions)")
        chosen[stem] = regions if which != "classes" and regions.is_file() else path
    return sorted(chosen.items(), key=lambda item: io.natural_key(str(item[0])))


def score_folder(pred_dir, gt_dir, which: str = "auto") -> tuple[list[dict], list[str]]:
    """(one row per label map that has annotations, then a 'mean' row; the images whose
    label maps have none)."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    for folder in (pred_dir, gt_dir):
        if not folder.is_dir():
            raise UserInputError(f"{folder}: no such folder")
    rows, unannotated = [], []
    for stem, path in label_maps(pred_dir, which):
        files = annotation_files(gt_dir, stem)
        if not files:
            unannotated.append(str(stem))
            continue
        try:
            scores = score_against_annotators(io.read_labels(path),
                                              [io.read_labels(f) for f in files])
        except io.ImageReadError:
            raise
        except UserInputError as error:
            raise UserInputError(f"{path} against {files[0].parent}: {error}") from None
        rows.append({"image": str(stem), "annotators": len(files),
                     **{("pri" if k == "ri" else k): v for k, v in scores.items()}})
    if not rows:
        raise UserInputError(f"no label map in {pred_dir} has annotations in {gt_dir}")
    mean = {key: float(np.mean([row[key] for row in rows]))
            for key in rows[0] if key not in ("image", "annotators")}
    rows.append({"image": "mean", "annotators": sum(r["annotators"] for r in rows), **mean})
    return rows, unannotated
