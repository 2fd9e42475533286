"""emapps segment against scikit-learn, OpenCV and scikit-image on bsds500_val20.

Run by hand (`make bench`); not a test.  Follows ../shared/protocols/segment.md: CIELAB
(or Lab + 0.5-scaled position) features, full covariances, tol 1e-3 on the mean
log-likelihood, at most 200 iterations, reg_covar 1e-6, seed 0, one thread.

1. Protocol table: CPU s per image, iterations, mean log-likelihood, VoI and PRI.  For
   the per-iteration ratio both EMs start from the same k-means solution (emapps's
   k-means, seeded), so equal log-likelihoods are expected; the quality rows use each
   tool's own initialisation.
2. Whole folder through the CLI (decode, fit, PNG label map + overlay), warm cache.
3. A 12-megapixel image (a BSDS image upscaled), K=8 labxy, to convergence: wall time
   and peak RSS in a fresh process.

    python benchmarks/bench_segment.py [--images N] [--skip-12mp] [--sklearn-12mp]
"""

import os

# One thread everywhere, set before numpy loads: idle BLAS/OpenMP workers left spinning
# after a peer's call would otherwise be billed to the next timed call (CPU time).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BSDS = Path(os.environ.get("EMAPPS_SHARED", ROOT.parent / "shared")) / "data/images/bsds500_val20"


def load_bsds(limit):
    from emapps.segment.io import load_image, read_labels
    ids = sorted(p.name for p in (BSDS / "gt").iterdir())[:limit]
    return [(i, load_image(BSDS / "img" / f"{i}.jpg"),
             [read_labels(p) for p in sorted((BSDS / "gt" / i).glob("*.png"))]) for i in ids]


def quality(labels, truths):
    from emapps.segment.metrics import score_against_annotators
    scores = score_against_annotators(labels, truths)
    return scores["voi"], scores["ri"]


def kmeans_start(X, k, seed=0):
    """weights, means, precisions from seeded k-means (the same start for both EMs)."""
    from emapps.mixture.init import kmeans_plusplus, lloyd
    rng = np.random.default_rng(seed)
    labels = lloyd(X, kmeans_plusplus(X, k, rng))
    weights = np.bincount(labels, minlength=k) / len(labels)
    means = np.array([X[labels == j].mean(axis=0) for j in range(k)])
    precisions = np.array([np.linalg.inv(np.cov(X[labels == j].T) + 1e-6 * np.eye(X.shape[1]))
                           for j in range(k)])
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def timed(function):
    start = time.process_time()
    value = function()
    return value, time.process_time() - start


def protocol_rows(images):
    from sklearn.mixture import GaussianMixture as SkMixture

    from emapps.mixture import GaussianMixture
    from emapps.segment import ImageSegmenter

    rows = []
    for features, k in (("lab", 4), ("lab", 8), ("labxy", 4), ("labxy", 8)):
        stats = {name: [] for name in ("sk_s", "em_s", "sk_it", "em_it", "sk_ll", "em_ll",
                                       "sk_iter_s", "em_iter_s", "own_s", "own_voi", "own_pri",
                                       "sk_voi", "sk_pri")}
        for _, image, truths in images:
            segmenter = ImageSegmenter(k, features=features, random_state=0)
            X = segmenter.image_features(image)
            start = kmeans_start(X, k)
            settings = dict(tol=1e-3, max_iter=200, reg_covar=1e-6, **start)
            sk, sk_s = timed(lambda: SkMixture(k, init_params="random_from_data",
                                               random_state=0, **settings).fit(X))
            em, em_s = timed(lambda: GaussianMixture(k, accelerate=None, **settings).fit(X))
            stats["sk_s"].append(sk_s)
            stats["em_s"].append(em_s)
            stats["sk_it"].append(sk.n_iter_)
            stats["em_it"].append(em.n_iter_)
            stats["sk_iter_s"].append(sk_s / sk.n_iter_)
            stats["em_iter_s"].append(em_s / em.n_iter_)
            stats["sk_ll"].append(sk.score(X))
            stats["em_ll"].append(em.score(X))
            # each tool on its own: scikit-learn's k-means init vs emapps's whole segmenter
            own_sk, own_sk_s = timed(lambda: SkMixture(k, tol=1e-3, max_iter=200,
                                                       reg_covar=1e-6, random_state=0).fit(X))
            voi, pri = quality(own_sk.predict(X).reshape(image.shape[:2]), truths)
            stats["sk_voi"].append(voi)
            stats["sk_pri"].append(pri)
            _, own_s = timed(lambda: segmenter.fit(image))
            voi, pri = quality(segmenter.labels_, truths)
            stats["own_s"].append(own_s)
            stats["own_voi"].append(voi)
            stats["own_pri"].append(pri)
        mean = {key: float(np.mean(values)) for key, values in stats.items()}
        rows.append({"case": f"GMM {features} K{k}", **mean,
                     "iter_ratio": mean["sk_iter_s"] / mean["em_iter_s"],
                     "dll": mean["em_ll"] - mean["sk_ll"]})
    return rows


def default_pipeline(image, image_id, seed, spatial="mrf"):
    """What `emapps segment --seed SEED` does with its default settings, in process."""
    from emapps.segment import ImageSegmenter
    from emapps.segment.features import colour_channels
    from emapps.segment.regions import image_regions
    from emapps.segment.runner import image_seed

    labels = ImageSegmenter(8, features="labxy", spatial=spatial, estimate_beta=True,
                            random_state=image_seed(seed, f"{image_id}.jpg")).fit_predict(image)
    return image_regions(labels, colour_channels(image, "labxy"), 0.005, 10.0)


def reference_rows(images, opencv_images=3, seeds=(0, 1, 2)):
    from skimage.segmentation import felzenszwalb, slic

    methods = {f"emapps default, --seed {seed} (labxy K8 HMRF + regions)":
               (lambda image, image_id, seed=seed: default_pipeline(image, image_id, seed))
               for seed in seeds}
    methods.update({
        "emapps default without the MRF (--spatial none), --seed 0":
            lambda image, image_id: default_pipeline(image, image_id, 0, spatial="none"),
        "skimage felzenszwalb (defaults)": lambda image, _: felzenszwalb(image),
        "skimage felzenszwalb (scale 600, sigma 0.8, min_size 300)":
            lambda image, _: felzenszwalb(image, scale=600, sigma=0.8, min_size=300),
        "skimage slic (n_segments 8)": lambda image, _: slic(image, n_segments=8),
    })
    rows = []
    for name, method in methods.items():
        seconds, vois, pris = [], [], []
        for image_id, image, truths in images:
            labels, spent = timed(lambda: method(image, image_id))
            seconds.append(spent)
            voi, pri = quality(labels, truths)
            vois.append(voi)
            pris.append(pri)
        rows.append({"method": name, "cpu_s": np.mean(seconds), "voi": np.mean(vois),
                     "pri": np.mean(pris), "images": len(images)})
    try:
        import cv2
        rows.append(opencv_row(cv2, images[:opencv_images]))
    except ImportError:
        print("OpenCV not installed (pip install 'opencv-python-headless<5'): row skipped",
              file=sys.stderr)
    return rows


def opencv_row(cv2, images):
    from emapps.segment import ImageSegmenter
    seconds, vois, pris = [], [], []
    for _, image, truths in images:
        X = ImageSegmenter(4, features="lab").image_features(image)
        em = cv2.ml.EM_create()
        em.setClustersNumber(4)
        em.setCovarianceMatrixType(cv2.ml.EM_COV_MAT_GENERIC)
        em.setTermCriteria((cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 200, 1e-3))
        (_, _, labels, _), spent = timed(lambda: em.trainEM(X))
        seconds.append(spent)
        voi, pri = quality(labels.reshape(image.shape[:2]), truths)
        vois.append(voi)
        pris.append(pri)
    return {"method": "OpenCV EM lab K4", "cpu_s": np.mean(seconds), "voi": np.mean(vois),
            "pri": np.mean(pris), "images": len(images)}


def cli_wall(args, repeats=2):
    """Wall seconds of `emapps segment ...` (fresh output folder each time); the best run."""
    best = np.inf
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "emapps", "segment", *args, "-o", out, "-q"],
                           check=True)
            best = min(best, time.perf_counter() - start)
    return best


def folder_rows():
    images = str(BSDS / "img")
    rows = []
    for label, extra in (("lab K4 GMM", ["-k", "4", "--features", "lab", "--spatial", "none",
                                         "--no-regions"]),
                         ("default (labxy K8 HMRF + regions)", [])):
        for jobs in (1, 2):
            threads = ["--threads", "1"] if jobs == 1 else ["--threads", "1", "-j", "2"]
            rows.append({"case": f"{label}, -j {jobs}",
                         "wall_s": cli_wall([images, *extra, "--seed", "0", *threads])})
    return rows


def big_image(path, megapixels=12.0):
    from PIL import Image
    with Image.open(BSDS / "img" / "8023.jpg") as image:
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        size = (round(image.width * scale), round(image.height * scale))
        image.resize(size, Image.Resampling.LANCZOS).save(path)
    return size


def child_peak(command):
    """(wall seconds, peak RSS MB) of a command run in a fresh process."""
    code = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], check=True); "
            "print(json.dumps([time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]))")
    output = subprocess.run([sys.executable, "-c", code, *command], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def big_rows(with_sklearn):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.png"
        width, height = big_image(path)
        for threads in (1, 2):
            wall, peak = child_peak([sys.executable, "-m", "emapps", "segment", str(path), "-o",
                                     str(Path(folder) / f"out{threads}"), "-k", "8",
                                     "--features", "labxy", "--spatial", "none", "--no-regions",
                                     "--seed", "0", "--threads", str(threads), "-q"])
            manifest = json.loads((Path(folder) / f"out{threads}" / "manifest.jsonl")
                                  .read_text().splitlines()[0])
            rows.append({"case": f"emapps {width}x{height} K8 labxy, {threads} thread(s)",
                         "wall_s": wall, "peak_mb": peak, "n_iter": manifest["n_iter"],
                         "converged": manifest["converged"]})
        if with_sklearn:
            script = ("import sys, numpy as np; from emapps.segment import load_image, "
                      "pixel_features; from sklearn.mixture import GaussianMixture; "
                      "from threadpoolctl import threadpool_limits; "
                      "X = pixel_features(load_image(sys.argv[1]), 'labxy'); "
                      "threadpool_limits(1); "
                      "GaussianMixture(8, max_iter=2, random_state=0).fit(X)")
            wall, peak = child_peak([sys.executable, "-W", "ignore", "-c", script, str(path)])
            rows.append({"case": "scikit-learn, 2 iterations only", "wall_s": wall,
                         "peak_mb": peak, "n_iter": 2, "converged": False})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--skip-12mp", action="store_true")
    parser.add_argument("--sklearn-12mp", action="store_true",
                        help="also run scikit-learn's 2 iterations on the 12 MP image (~2 min, 5 GB)")
    parser.add_argument("--only", default="protocol,reference,folder,big",
                        help="comma-separated sections to run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    sections = set(args.only.split(","))
    if not BSDS.is_dir():
        sys.exit(f"bench_segment: {BSDS} not found (BSDS500 slice; set EMAPPS_SHARED)")
    warnings.simplefilter("ignore")
    from threadpoolctl import threadpool_limits

    from emapps.core.runtime import set_threads
    set_threads(1)
    threadpool_limits(1)
    images = load_bsds(args.images)
    from emapps.segment import ImageSegmenter
    ImageSegmenter(2, spatial="mrf", random_state=0).fit(images[0][1][:40, :40])  # warm up

    run = {"protocol": lambda: protocol_rows(images), "reference": lambda: reference_rows(images),
           "folder": folder_rows,
           "big": lambda: [] if args.skip_12mp else big_rows(args.sklearn_12mp)}
    report = {name: run[name]() if name in sections else [] for name in run}
    if report["protocol"]:
        print(f"\n## Protocol, mean per image over {len(images)} BSDS images (one thread)")
        print("| case | sklearn CPU s | emapps CPU s | iters sk/em | s/iter ratio sk/em | "
              "mean loglik sk / em | VoI, PRI sklearn own init | emapps segmenter CPU s, VoI, "
              "PRI |\n|---|---|---|---|---|---|---|---|")
        for r in report["protocol"]:
            print(f"| {r['case']} | {r['sk_s']:.3f} | {r['em_s']:.3f} | {r['sk_it']:.1f}/"
                  f"{r['em_it']:.1f} | {r['iter_ratio']:.1f}x | {r['sk_ll']:.4f} / "
                  f"{r['em_ll']:.4f} | {r['sk_voi']:.3f}, {r['sk_pri']:.3f} | {r['own_s']:.3f}, "
                  f"{r['own_voi']:.3f}, {r['own_pri']:.3f} |")
    if report["reference"]:
        print("\n## Quality against the references (CPU s per image, one thread)")
        print("| method | images | CPU s | VoI | PRI |\n|---|---|---|---|---|")
        for r in report["reference"]:
            print(f"| {r['method']} | {r['images']} | {r['cpu_s']:.3f} | {r['voi']:.3f} | "
                  f"{r['pri']:.3f} |")
    if report["folder"]:
        print("\n## Whole folder through the CLI (wall s, warm numba cache)")
        print("| case | wall s |\n|---|---|")
        for r in report["folder"]:
            print(f"| {r['case']} | {r['wall_s']:.2f} |")
    if report["big"]:
        print("\n## 12-megapixel image to convergence (fresh process)")
        print("| case | wall s | peak RSS MB | iterations |\n|---|---|---|---|")
        for r in report["big"]:
            print(f"| {r['case']} | {r['wall_s']:.2f} | {r['peak_mb']:.0f} | {r['n_iter']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=float))


if __name__ == "__main__":
    main()
