"""``emapps segment``: segment images and folders; ``emapps segment score``: evaluate."""

import sys
from pathlib import Path

import click

from ..cli.options import (DefaultRunGroup, parse_int_range, resolve_seed, seed_option,
                           threads_option)
from ..cli.options import set_threads as set_kernel_threads
from .segmenter import ImageSegmenter

#: pixels a fitting sample must hold per class
PIXELS_PER_CLASS = 50
#: the command's defaults are the estimator's
DEFAULTS = ImageSegmenter.default_params()


def parse_batch(text):
    """'K/N' as (K, N) with 1 <= K <= N, or None.

    >>> parse_batch("3/10")
    (3, 10)
    """
    from ..errors import UserInputError

    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserInputError(f"--batch must look like K/N, e.g. 3/10; got {text!r}") from None
    if not 1 <= k <= n:
        raise UserInputError(f"--batch K/N needs 1 <= K <= N; got {text!r}")
    return k, n


@click.group(cls=DefaultRunGroup)
def segment():
    """Segment images by EM on pixel features (GMM or HMRF with a Potts prior).

    \b
    emapps segment INPUT... -o OUTDIR [options]   (same as: emapps segment run ...)
    emapps segment score PRED_DIR GT_DIR
    """


@segment.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--outdir", required=True,
              help="Output folder (mirrors the inputs).")
@click.option("-k", "--components", default=str(DEFAULTS["n_components"]), show_default=True,
              help="Classes: one number, or a range 2..8 / list 2,4,8 chosen per image by "
                   "--criterion.")
@click.option("--features", type=click.Choice(["lab", "labxy", "rgb", "gray"]),
              default=DEFAULTS["features"], show_default=True, help="Pixel features.")
@click.option("--xy-scale", default=DEFAULTS["xy_scale"], show_default=True,
              help="Weight of position in labxy: [x, y] * scale * 100 / max(H, W).")
@click.option("--texture", is_flag=True, default=False,
              help="Add local mean and std of lightness.")
@click.option("--spatial", type=click.Choice(["none", "mrf"]), default=DEFAULTS["spatial"],
              show_default=True, help="mrf: Potts prior over 4-neighbours (HMRF-EM).")
@click.option("--beta", default=DEFAULTS["beta"], show_default=True,
              help="Potts interaction strength.")
@click.option("--estimate-beta/--fixed-beta", default=DEFAULTS["estimate_beta"], show_default=True,
              help="Re-estimate beta by pseudo-likelihood (starting from --beta).")
@click.option("--update", type=click.Choice(["mean-field", "icm"]), default=DEFAULTS["update"],
              show_default=True, help="HMRF E-step.")
@click.option("--connectivity", type=click.Choice(["4", "8"]),
              default=str(DEFAULTS["connectivity"]), show_default=True,
              help="Neighbours of a pixel in the Potts prior.")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"]),
              default=DEFAULTS["criterion"],
              show_default=True, help="How K is chosen when -k is a range.")
@click.option("--shared-model", is_flag=True, default=False,
              help="Fit one model on pixels sampled from all images, then label each.")
@click.option("--shared-pixels", default=200_000, show_default=True,
              help="Pixels sampled over all images for --shared-model.")
@click.option("--fit-pixels", default=DEFAULTS["sample_pixels"], show_default=True,
              help="Larger images are fitted on a sample of this many pixels first, then "
                   "EM continues on all of them (0: all pixels from the start).")
@click.option("--posteriors", is_flag=True, default=False,
              help="Also write <stem>.npz with posteriors.")
@click.option("--min-region", default=0.005, show_default=True,
              help="Regions map <stem>.regions.png: connected regions of the labels, those "
                   "below this fraction of the image merged into the nearest one.")
@click.option("--merge-colour", default=10.0, show_default=True,
              help="Then merge adjacent regions whose mean colours differ by less "
                   "(delta E for Lab; 0 = never).")
@click.option("--no-regions", is_flag=True, default=False, help="Write the class label map only.")
@click.option("--max-iter", default=DEFAULTS["max_iter"], show_default=True)
@click.option("--tol", default=DEFAULTS["tol"], show_default=True,
              help="Stop when the mean log-likelihood per pixel gains less.")
@click.option("--max-pixels", type=int, default=None,
              help="Raise Pillow's decompression-bomb limit (pixels per image).")
@seed_option
@click.option("-j", "--jobs", default=1, show_default=True, help="Images in parallel.")
@threads_option
@click.option("--dask", "scheduler", default=None, metavar="ADDRESS|local",
              help="With --shared-model: sample the images' pixels and fit the shared "
                   "model on a Dask cluster (a scheduler address, or 'local').")
@click.option("--batch", default=None, metavar="K/N",
              help="Only the K-th of N consecutive blocks of the images (a workflow's "
                   "job); outputs and seeds are the whole run's.")
@click.option("--overwrite", is_flag=True, default=False, help="Redo images already done.")
@click.option("--fail-fast", is_flag=True, default=False,
              help="Stop at the first image that fails.")
@click.option("--json", "record_path", default=None,
              help="Write the run record here (settings, seed, and every image's K, "
                   "log-likelihood, iterations and convergence from the manifest).")
@click.option("-q", "--quiet", is_flag=True, default=False, help="No progress bar or summary.")
def run(inputs, outdir, components, features, xy_scale, texture, spatial, beta, estimate_beta,
        update, connectivity, criterion, shared_model, shared_pixels, fit_pixels, posteriors,
        min_region, merge_colour,
        no_regions,
        max_iter, tol, max_pixels, seed, jobs, threads, scheduler, batch, overwrite, fail_fast,
        record_path, quiet):
    """Segment image files, folders (recursive) or quoted globs into OUTDIR.

    Writes <stem>.png (class labels 0..K-1 ordered by lightness), <stem>.regions.png
    (connected regions), <stem>.overlay.png and a line per image in manifest.jsonl.
    Images already done with the same settings are skipped (--overwrite redoes them).
    """
    import time

    from ..core.runtime import max_image_pixels
    from ..errors import UserInputError
    from .io import MANIFEST
    from .runner import segment_folder

    ks = parse_int_range(components, "-k")
    batch = parse_batch(batch)
    if scheduler is not None and not shared_model:
        raise UserInputError("--dask runs the shared model's pixel-sampling fit: add "
                             "--shared-model")
    if jobs < 1:
        raise UserInputError(f"--jobs must be >= 1; got {jobs}")
    enough = PIXELS_PER_CLASS * max(ks)   # a sample must be able to hold every class
    if fit_pixels != 0 and fit_pixels < enough:
        raise UserInputError(f"--fit-pixels must be 0 (all pixels) or at least {enough} "
                             f"({PIXELS_PER_CLASS} per class at K = {max(ks)}); got "
                             f"{fit_pixels}")
    if shared_model and shared_pixels < enough:
        raise UserInputError(f"--shared-pixels must be at least {enough} "
                             f"({PIXELS_PER_CLASS} per class at K = {max(ks)}); got "
                             f"{shared_pixels}")
    if record_path not in (None, "-") and Path(record_path).resolve().is_relative_to(
            Path(outdir).resolve()):
        raise UserInputError(f"--json {record_path} is inside the output folder {outdir}; "
                             f"write the run record elsewhere")
    set_kernel_threads(threads)
    pixel_limit = max_image_pixels(max_pixels)   # checked on entry, before any image loads
    seed = resolve_seed(seed)
    started = time.perf_counter()
    params = {"n_components": ks[0] if len(ks) == 1 else ks, "features": features,
              "xy_scale": xy_scale, "texture": texture, "spatial": spatial, "beta": beta,
              "estimate_beta": estimate_beta, "update": update,
              "connectivity": int(connectivity), "criterion": criterion,
              "sample_pixels": fit_pixels or None, "max_iter": max_iter, "tol": tol}

    def log(line):  # errors and warnings, also under --quiet
        click.echo(line, err=True)

    with pixel_limit:
        run_ = segment_folder(inputs, outdir, params, seed=seed, jobs=jobs,
                              overwrite=overwrite, shared_model=shared_model,
                              shared_pixels=shared_pixels, posteriors=posteriors,
                              regions=None if no_regions else {
                                  "min_fraction": min_region, "merge_threshold": merge_colour},
                              batch=batch, dask=scheduler, fail_fast=fail_fast,
                              progress=not quiet, log=log)
    if record_path:
        _write_run_record(record_path, params, seed, outdir, run_,
                          time.perf_counter() - started)
    if not quiet:
        log(f"emapps segment: {run_.done} segmented, {run_.skipped} already done, "
            f"{len(run_.failures)} failed (seed {seed}; {outdir}/{MANIFEST})")
    if run_.failures:
        raise click.exceptions.Exit(1)


def _write_run_record(path, params, seed, outdir, run_, seconds) -> None:
    """The folder run's record: the shared keys, then every image of the manifest."""
    from ..core.record import run_record
    from ..io.outputs import write_json
    from .io import read_manifest

    images = {image: {key: record.get(key) for key in ("k", "loglik", "n_iter", "converged")}
              for image, record in read_manifest(outdir).items()}
    unconverged = sorted(image for image, record in images.items() if not record["converged"])
    warnings = [f"{image}: {message}" for image, message in run_.failures]
    warnings += [f"{image}: EM did not converge" for image in unconverged]
    write_json(path, run_record(
        settings=params, seed=seed, log_likelihood=None, trace=[], n_iter=None,
        converged=not unconverged, timings={"total": seconds}, warnings=warnings,
        outdir=str(outdir), segmented=run_.done, already_done=run_.skipped,
        failed=len(run_.failures), images=images))


@segment.command()
@click.argument("pred_dir")
@click.argument("gt_dir")
@click.option("--labels", "which", type=click.Choice(["auto", "regions", "classes"]),
              default="auto", show_default=True,
              help="Score <stem>.regions.png, <stem>.png, or regions where written.")
@click.option("--json", "record_path", default=None,
              help="Write the run record, scores included, here ('-': on stdout instead "
                   "of the table).")
def score(pred_dir, gt_dir, which, record_path):
    """Score label maps in PRED_DIR against annotations in GT_DIR.

    GT_DIR holds <stem>/<annotator>.png (BSDS layout) or <stem>.png per image.  Prints
    variation of information (total, split, merge; bits), adapted Rand error and
    probabilistic Rand index per image, averaged over annotators, and the mean row.
    """
    import time

    from ..core.record import run_record
    from ..io.outputs import check_outputs, write_json
    from .metrics import score_folder

    check_outputs([record_path], inputs=[pred_dir, gt_dir])
    started = time.perf_counter()
    rows, unannotated = score_folder(pred_dir, gt_dir, which)
    if unannotated:
        click.echo(f"emapps segment score: {len(unannotated)} label map(s) without "
                   f"annotations, not scored: {', '.join(unannotated[:5])}"
                   + (" ..." if len(unannotated) > 5 else ""), err=True)
    if record_path:
        write_json(record_path, run_record(
            settings={"labels": which}, seed=None, log_likelihood=None, trace=[], n_iter=None,
            converged=None, timings={"total": time.perf_counter() - started},
            predictions=pred_dir, annotations=gt_dir, scores=rows,
            unannotated=unannotated))
        if record_path == "-":
            return
    columns = ("image", "annotators", "voi", "voi_split", "voi_merge", "are", "pri")
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(str(row[c]) if c in ("image", "annotators") else f"{row[c]:.4f}"
                               for c in columns))
    sys.stdout.write("\n".join(lines) + "\n")
