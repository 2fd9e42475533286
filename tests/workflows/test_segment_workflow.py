"""workflows/segment run for real by Snakemake: a folder in three batches gives the labels
of one `emapps segment` run, one manifest and a report that names the failed file."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from ..conftest import run_cli
from .conftest import WORKFLOWS, run_snakemake


def test_batched_segmentation_equals_one_run(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    (images / "nested").mkdir(parents=True)
    for k in range(5):   # two-tone pictures with noise, one in a subfolder
        picture = np.full((40, 50, 3), 40, dtype=float)
        picture[:, 10 + 5 * k:] = [200, 60 + 20 * k, 30]
        picture += rng.normal(0, 8, picture.shape)
        folder = images / "nested" if k == 4 else images
        Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8)).save(folder / f"p{k}.png")
    (images / "broken.png").write_bytes(b"not a png")
    config = tmp_path / "config.yaml"
    config.write_text(f"input: {images}\nbatch_size: 2\nseed: 3\nthreads: 1\n"
                      f"extra: '-k 2 --max-iter 30'\noutdir: out\n")
    run_snakemake("-s", WORKFLOWS / "segment" / "Snakefile", "--directory", tmp_path,
                  "--configfile", config)
    out = tmp_path / "out"
    records = [json.loads(line) for line in open(out / "manifest.jsonl")]
    assert sorted(r["image"] for r in records) == sorted(
        ["broken.png", "p0.png", "p1.png", "p2.png", "p3.png", "nested/p4.png"])
    assert {r["outdir"] for r in records} == {"batch1", "batch2", "batch3"}
    report = (out / "report.md").read_text()
    assert "6 in 3 batches; 5 segmented, 1 failed" in report and "broken.png" in report
    status = run_cli(capsys, "segment", images, "-o", tmp_path / "single", "--seed", "3",
                     "-k", "2", "--max-iter", "30", "-q")[0]
    assert status == 1                                   # the broken file fails here too
    for record in records:
        if record["status"] == "ok":
            stem = Path(record["image"]).with_suffix(".png")
            batch = np.asarray(Image.open(out / record["outdir"] / stem))
            single = np.asarray(Image.open(tmp_path / "single" / stem))
            np.testing.assert_array_equal(batch, single)
