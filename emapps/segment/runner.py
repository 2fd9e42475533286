"""Segment many images: outputs mirrored under a folder, a manifest, resume, a process pool.

Each image gets its own seed, ``SeedSequence(seed, spawn_key=(crc32(relative path),))``,
so labels do not depend on the order, on ``jobs`` or on which images were done before.
An image is skipped when the manifest holds a successful record with the same settings
hash and its outputs exist with the sha256 digests that record names.  Failures
(unreadable files, degenerate models) are reported and recorded; the other images still
finish.
"""

import hashlib
import json
import multiprocessing
import sys
import time
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np

from .._version import __version__
from ..core.progress import progress_bar
from ..errors import DegenerateModelError, UserInputError
from ..io.outputs import output_set
from . import io
from .features import n_colour_channels
from .regions import check_region_settings, image_regions
from .segmenter import ImageSegmenter


@dataclass
class FolderRun:
    """What a folder run did: counts and the failures as (image, message)."""

    done: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)


def image_seed(seed: int, relative: PurePath) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(str(relative).encode()),))


def settings_hash(settings: dict) -> str:
    text = json.dumps({**settings, "emapps_version": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (the manifest's check that an output is the one recorded)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs_match(recorded: dict, paths: dict, wanted: list) -> bool:
    """Every wanted output exists with the content its manifest record names (a run
    killed between writing an image's files and its manifest line fails this)."""
    return all(kind in recorded and paths[kind].is_file()
               and file_digest(paths[kind]) == recorded[kind] for kind in wanted)


def output_paths(outdir: Path, relative: PurePath) -> dict[str, Path]:
    stem = outdir / relative.with_suffix("")
    return {"labels": stem.with_name(stem.name + io.LABELS_SUFFIX),
            "regions": stem.with_name(stem.name + io.REGIONS_SUFFIX),
            "overlay": stem.with_name(stem.name + io.OVERLAY_SUFFIX),
            "posteriors": stem.with_name(stem.name + io.POSTERIORS_SUFFIX)}


def _segment_one(path: Path, relative: PurePath, outdir: Path, params: dict, seed: int,
                 shared, posteriors: bool, regions_settings: dict | None) -> dict:
    """Segment one image and write its outputs; returns its manifest fields."""
    started = time.perf_counter()
    image = io.load_image(path)
    segmenter = ImageSegmenter(**params, random_state=image_seed(seed, relative))
    X = segmenter.image_features(image)  # computed once for every step below
    fitted = shared is None
    if fitted:
        labels = segmenter.fit(image, features=X).labels_
    else:
        labels = segmenter.use_shared(shared).predict(image, features=X)
    paths = output_paths(outdir, relative)
    regions = None
    if regions_settings is not None:
        colours = X[:, :n_colour_channels(image, params["features"])]  # colour comes first
        regions = image_regions(labels, colours, **regions_settings)
    with output_set(independent=True):   # the image's files land together, then its line
        io.write_labels(paths["labels"], labels)
        if regions is not None:
            io.write_labels(paths["regions"], regions)
        io.write_overlay(paths["overlay"], image, labels if regions is None else regions)
        if posteriors:
            q = getattr(segmenter, "posteriors_", None)  # the HMRF's own; else computed now
            io.write_posteriors(paths["posteriors"], segmenter.predict_proba(
                image, features=X) if q is None else q, labels)
    written = {kind: file_digest(paths[kind]) for kind in paths if paths[kind].exists()
               and (kind != "regions" or regions is not None)
               and (kind != "posteriors" or posteriors)}
    return {"outputs": written, "k": int(segmenter.n_components_),
            "height": int(image.shape[0]),
            "width": int(image.shape[1]),
            "loglik": float(segmenter.loglik_ if fitted else segmenter.score(image, features=X)),
            "n_iter": int(segmenter.n_iter_) if fitted else 0,
            "converged": bool(segmenter.converged_) if fitted else None,
            "loglik_trace": [float(v) for v in segmenter.trace_] if fitted else [],
            "beta": float(segmenter.beta_) if params["spatial"] == "mrf" else None,
            "n_regions": None if regions is None else int(regions.max()) + 1,
            "seconds": round(time.perf_counter() - started, 4)}


def _worker(task) -> tuple[str, dict | str, list[str]]:
    """(status, manifest fields or error message, warnings) of one image."""
    path = task[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = "ok", _segment_one(*task)
        except io.ImageReadError as error:
            outcome = "error", str(error)
        except (UserInputError, DegenerateModelError) as error:
            outcome = "error", f"{path}: {error}"
        except MemoryError:
            outcome = "error", f"{path}: out of memory"
        except OSError as error:  # e.g. a full disk while writing its outputs
            outcome = "error", f"{path}: {error.strerror or error}"
    return (*outcome, [str(warning.message) for warning in caught])


def _init_worker():
    from ..core.runtime import set_threads
    set_threads(1)


def image_sample(path, relative, params: dict, seed: int, size: int) -> np.ndarray:
    """Up to ``size`` feature rows of one image, drawn with the image's own seed; (0, 0)
    for an unreadable image."""
    try:
        X = ImageSegmenter(**params).image_features(io.load_image(path))
    except io.ImageReadError:
        return np.empty((0, 0))
    rng = np.random.default_rng(image_seed(seed, relative))
    return X[np.sort(rng.choice(X.shape[0], size=min(size, X.shape[0]), replace=False))]


def fit_shared(images, params: dict, seed: int, shared_pixels: int, dask: bool = False):
    """Fit one mixture to pixels sampled evenly from every image (seeded per image);
    unreadable images are left out here and reported when they are labelled.  With
    ``dask`` the images are read and sampled by Dask tasks (on the active
    ``distributed.Client``), their samples stay there as the blocks of a Dask array, and
    EM runs over those blocks."""
    per_image = max(1, shared_pixels // max(len(images), 1))
    segmenter = ImageSegmenter(**params, random_state=np.random.SeedSequence(seed))
    if dask:
        rows, shapes = _sample_blocks(images, params, seed, per_image)
    else:
        rows = [image_sample(path, relative, params, seed, per_image)
                for path, relative in images]
        shapes = [part.shape for part in rows]
    kept = [(part, shape) for part, shape in zip(rows, shapes) if shape[0] > 0]
    if not kept:
        raise UserInputError("no readable image to fit a shared model on")
    if len({shape[1] for _, shape in kept}) > 1:
        raise UserInputError("a shared model needs images of one kind: the folder mixes "
                             "grayscale and colour images")
    if not dask:
        return segmenter.fit_sample(np.concatenate([part for part, _ in kept]))
    import dask.array as da

    return segmenter.fit_sample(da.concatenate(
        [da.from_delayed(part, shape, dtype=np.float64) for part, shape in kept]))


def _sample_blocks(images, params: dict, seed: int, per_image: int) -> tuple:
    """Each image's sample as a persisted Dask task, and the samples' shapes."""
    import dask

    tasks = [dask.delayed(image_sample, pure=True)(path, relative, params, seed, per_image)
             for path, relative in images]
    samples = dask.persist(*tasks)
    shapes = dask.compute(*[dask.delayed(np.shape)(sample) for sample in samples])
    return list(samples), list(shapes)


def segment_folder(inputs, outdir, params: dict, *, seed: int, jobs: int = 1,
                   overwrite: bool = False, shared_model: bool = False,
                   shared_pixels: int = 200_000, posteriors: bool = False,
                   regions: dict | None = None, batch: tuple[int, int] | None = None,
                   dask: str | None = None, fail_fast: bool = False,
                   progress: bool = False, log=print) -> FolderRun:
    """Segment every image of ``inputs`` into ``outdir`` (see the module docstring), or,
    with ``batch`` (k, n), the k-th of n consecutive blocks of them (the outputs, seeds
    and a shared model are those of the whole run).  ``dask`` (a scheduler address, or
    'local' for a LocalCluster of ``jobs`` workers, at least 2) runs the shared model's
    pixel sampling and fit on Dask."""
    ImageSegmenter(**params).check_settings()
    if regions is not None:
        check_region_settings(**regions)
    outdir = Path(outdir)
    images = _outside(io.find_images(inputs), outdir)
    if not images:
        raise UserInputError(f"no images found in {', '.join(map(str, inputs))} "
                             f"(looked for {', '.join(io.IMAGE_SUFFIXES)})")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(f"cannot create the output folder {outdir}: "
                             f"{error.strerror or error}") from None
    settings = {**params, "seed": seed, "posteriors": posteriors, "shared_model": shared_model,
                "regions": regions}
    if shared_model:
        settings["shared_pixels"] = shared_pixels
        settings["images"] = hashlib.sha256("\n".join(
            str(relative) for _, relative in images).encode()).hexdigest()[:16]
    digest = settings_hash(settings)
    previous = {} if overwrite else io.read_manifest(outdir)
    run = FolderRun()
    todo = []
    mine = images
    if batch is not None:
        blocks = np.array_split(np.arange(len(images)), batch[1])
        mine = [images[i] for i in blocks[batch[0] - 1]]
    for path, relative in mine:
        record = previous.get(str(relative))
        paths = output_paths(outdir, relative)
        wanted = (["labels", "overlay"] + (["posteriors"] if posteriors else [])
                  + (["regions"] if regions is not None else []))
        if (record and record.get("status") == "ok" and record.get("settings_hash") == digest
                and _outputs_match(record.get("outputs") or {}, paths, wanted)):
            run.skipped += 1
        else:
            todo.append((path, relative))
    shared = None
    if shared_model and todo:
        if dask is None:
            shared = fit_shared(images, params, seed, shared_pixels)
        else:
            from ..em.dask import dask_client
            with dask_client(dask, max(jobs, 2)):
                shared = fit_shared(images, params, seed, shared_pixels, dask=True)
        shared = shared.shared_state()
    tasks = [(path, relative, outdir, params, seed, shared, posteriors, regions)
             for path, relative in todo]
    with progress_bar("image", total=len(mine), initial=run.skipped,
                      quiet=not progress) as bar:
        for (path, relative), (status, result, notes) in _results(tasks, jobs):
            base = {"image": str(relative), "source": str(path), "status": status,
                    "settings_hash": digest, "seed": seed, "settings": params,
                    "emapps_version": __version__, "warnings": notes}
            for note in notes:
                log(f"emapps: warning: {relative}: {note}")
            if status == "ok":
                io.append_manifest(outdir, {**base, **result})
                run.done += 1
                if result.get("converged") is False:
                    log(f"emapps: warning: {relative}: EM did not converge in "
                        f"{result['n_iter']} iterations (raise --max-iter or --tol)")
            else:
                io.append_manifest(outdir, {**base, "error": result})
                run.failures.append((str(relative), result))
                log(f"emapps: error: {result}")
                if fail_fast:
                    break
            if bar is not None:
                bar.update(1)
    return run


def _outside(images, outdir: Path) -> list:
    """Inputs minus earlier outputs (files under an output folder placed inside an input
    folder); refuse an output that would overwrite an input."""
    root = outdir.resolve()
    kept = []
    for path, relative in images:
        source = path.resolve()
        base = Path(*source.parts[:len(source.parts) - len(relative.parts)])
        if root != base and root.is_relative_to(base) and source.is_relative_to(root):
            continue
        kept.append((path, relative))
    sources = {path.resolve() for path, _ in kept}
    for path, relative in kept:
        for output in output_paths(outdir, relative).values():
            if output.resolve() in sources:
                raise UserInputError(f"writing {output} would overwrite an input image; "
                                     f"choose another output folder")
    return kept


def _results(tasks, jobs: int):
    """(task identity, worker result) pairs, serially or from a process pool."""
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield task[:2], _worker(task)
        return
    from ..kernels.parallel import stop_pool

    stop_pool()  # fork from a process without kernel threads
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_init_worker) as pool:
        futures = {pool.submit(_worker, task): task[:2] for task in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()


