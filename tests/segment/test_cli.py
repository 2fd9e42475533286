"""`emapps segment` on folders: outputs, manifest, resume, failures, jobs, scoring."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image


from ..conftest import run_cli
from .conftest import blocks_image



def write_folder(folder, count=3):
    for index in range(count):
        image, _ = blocks_image(seed=index, size=(24 + 4 * index, 32))
        target = folder / ("sub" if index == 2 else "") / f"img{index + 1}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255).astype(np.uint8)).save(target)
    return folder


def manifest(outdir):
    return [json.loads(line) for line in (outdir / "manifest.jsonl").read_text().splitlines()]


FAST = ("-k", "3", "--features", "lab", "--spatial", "none", "--seed", "1", "-q")


def test_folder_run_mirrors_paths_and_writes_a_manifest(tmp_path, capsys):
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    status, out, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST, "--posteriors")
    assert status == 0, err
    assert out == ""  # stdout carries no noise
    for stem in ("img1", "img2", "sub/img3"):
        labels = np.asarray(Image.open(outdir / f"{stem}.png"))
        assert labels.dtype == np.uint8 and set(np.unique(labels)) == {0, 1, 2}
        assert (outdir / f"{stem}.overlay.png").exists()
        assert (outdir / f"{stem}.regions.png").exists()
        with np.load(outdir / f"{stem}.npz") as archive:
            assert archive["posteriors"].shape[2] == 3
    records = manifest(outdir)
    assert [r["image"] for r in records] == ["img1.png", "img2.png", "sub/img3.png"]
    first = records[0]
    assert first["status"] == "ok" and first["k"] == 3 and first["seed"] == 1
    assert first["converged"] and first["n_iter"] >= 1 and np.isfinite(first["loglik"])
    assert len(first["loglik_trace"]) == first["n_iter"]
    assert first["loglik_trace"][-1] == first["loglik"]
    assert first["n_regions"] == 3 and len(first["settings_hash"]) == 16


def test_rerun_skips_done_images_and_redoes_missing_ones(tmp_path, capsys):
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    assert run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)[0] == 0
    before = (outdir / "img1.png").stat().st_mtime_ns
    (outdir / "img2.overlay.png").unlink()  # as if interrupted while writing img2
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST[:-1])
    assert status == 0
    assert "1 segmented, 2 already done" in err
    assert (outdir / "img1.png").stat().st_mtime_ns == before
    assert (outdir / "img2.overlay.png").exists()
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST[:-1], "-k", "2")
    assert status == 0 and "3 segmented, 0 already done" in err  # new settings, new hash
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST[:-1], "-k", "2",
                         "--overwrite")
    assert status == 0 and "3 segmented, 0 already done" in err


def test_a_corrupt_file_is_reported_the_rest_finish_and_exit_is_nonzero(tmp_path, capsys):
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (inputs / "readme.txt").write_text("not an image, not even tried")
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)
    assert status == 1
    assert "broken.jpg" in err and "Traceback" not in err
    records = {r["image"]: r for r in manifest(outdir)}
    assert records["broken.jpg"]["status"] == "error"
    assert sum(r["status"] == "ok" for r in records.values()) == 3
    assert not (outdir / "broken.png").exists()


def test_empty_folder_and_missing_input_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    status, _, err = run_cli(capsys, "segment", tmp_path / "empty", "-o", tmp_path / "out")
    assert status == 2 and "no images" in err and len(err.strip().splitlines()) == 1
    status, _, err = run_cli(capsys, "segment", tmp_path / "nope", "-o", tmp_path / "out")
    assert status == 2 and "no such file or folder" in err


def test_one_and_two_jobs_write_identical_labels(tmp_path, capsys):
    inputs = write_folder(tmp_path / "in", count=4)
    for jobs in (1, 2):
        status, _, err = run_cli(capsys, "segment", inputs, "-o", tmp_path / f"j{jobs}", "-j", jobs,
                             "-k", "3", "--seed", "5", "-q")
        assert status == 0, err
    for path in sorted((tmp_path / "j1").rglob("*.png")):
        twin = tmp_path / "j2" / path.relative_to(tmp_path / "j1")
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(twin)))


def test_shared_model_gives_consistent_labels_across_images(tmp_path, capsys):
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    (inputs / "broken.png").write_bytes(b"\x89PNG but not really")
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST, "--shared-model",
                         "--posteriors")
    assert status == 1 and "broken.png" in err  # reported; the others are labelled
    with np.load(outdir / "img1.npz") as archive:
        assert archive["posteriors"].shape == (24, 32, 3)
    for index, stem in enumerate(("img1", "img2", "sub/img3")):
        _, truth = blocks_image(seed=index, size=(24 + 4 * index, 32))
        np.testing.assert_array_equal(np.asarray(Image.open(outdir / f"{stem}.png")), truth)


def test_score_prints_metrics_per_image_and_the_mean(tmp_path, capsys):
    inputs, outdir, truth_dir = write_folder(tmp_path / "in"), tmp_path / "out", tmp_path / "gt"
    assert run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)[0] == 0
    for index, stem in enumerate(("img1", "img2", "sub/img3")):
        _, truth = blocks_image(seed=index, size=(24 + 4 * index, 32))
        folder = truth_dir / stem
        folder.mkdir(parents=True)
        Image.fromarray((truth + 1).astype(np.uint16)).save(folder / "0.png")
        Image.fromarray(np.ones_like(truth, dtype=np.uint16)).save(folder / "1.png")
    status, out, err = run_cli(capsys, "segment", "score", outdir, truth_dir, "--labels", "classes")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split("\t") == ["image", "annotators", "voi", "voi_split", "voi_merge",
                                    "are", "pri"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["img1", "img2", "sub/img3", "mean"]
    status, out, _ = run_cli(capsys, "segment", "score", outdir, truth_dir, "--json", "-")
    rows = json.loads(out)["scores"]
    # perfect against annotator 0, pure split error against the one-region annotator 1
    assert rows[0]["voi_merge"] == pytest.approx(0.0, abs=1e-12)
    assert rows[0]["voi_split"] > 0.5
    assert rows[-1]["image"] == "mean"


def test_bundled_demo_images_segment(tmp_path, capsys, demo_images):
    shutil.copy(demo_images / "chelsea.png", tmp_path / "chelsea.png")
    status, _, err = run_cli(capsys, "segment", tmp_path / "chelsea.png", "-o", tmp_path / "out",
                         "--seed", "0", "-q")
    assert status == 0, err
    record = manifest(tmp_path / "out")[0]
    assert record["k"] == 8 and record["beta"] > 0 and record["n_regions"] >= 2


def test_inputs_are_never_overwritten_and_outputs_are_not_reread(tmp_path, capsys):
    inputs = write_folder(tmp_path / "in")
    before = (inputs / "img1.png").read_bytes()
    status, _, err = run_cli(capsys, "segment", inputs, "-o", inputs, *FAST)
    assert status == 2 and "would overwrite an input image" in err
    assert (inputs / "img1.png").read_bytes() == before
    outdir = inputs / "seg"  # output folder inside the input folder
    assert run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)[0] == 0
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST[:-1])
    assert status == 0 and "0 segmented, 3 already done" in err


@pytest.mark.parametrize("option", [("--min-region", "2"), ("--merge-colour", "-1"),
                                    ("--beta", "-1"), ("--fit-pixels", "-3"), ("-k", "x"),
                                    ("--batch", "4/3"), ("--batch", "2")])
def test_bad_options_fail_before_any_image_is_read(tmp_path, capsys, option):
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *option)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert not (outdir / "manifest.jsonl").exists()


def test_an_unwritable_output_folder_is_one_line(tmp_path, capsys):
    inputs = write_folder(tmp_path / "in")
    (tmp_path / "file").write_text("x")
    status, _, err = run_cli(capsys, "segment", inputs, "-o", tmp_path / "file" / "out")
    assert status == 2 and "cannot create the output folder" in err


def test_score_names_the_image_whose_annotation_does_not_fit(tmp_path, capsys):
    inputs, outdir, truth_dir = write_folder(tmp_path / "in", 1), tmp_path / "out", tmp_path / "gt"
    assert run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)[0] == 0
    (truth_dir / "img1").mkdir(parents=True)
    Image.fromarray(np.ones((5, 5), np.uint16)).save(truth_dir / "img1" / "0.png")
    status, _, err = run_cli(capsys, "segment", "score", outdir, truth_dir)
    assert status == 2 and "img1" in err and "differ in shape" in err


def test_batches_split_the_folder_in_order(tmp_path, capsys):
    inputs = write_folder(tmp_path / "in")
    done = []
    for k in (1, 2):
        outdir = tmp_path / f"batch{k}"
        assert run_cli(capsys, "segment", inputs, "-o", outdir, "--batch", f"{k}/2", *FAST)[0] == 0
        done.append(sorted(str(p.relative_to(outdir)) for p in outdir.rglob("*.overlay.png")))
    assert done == [["img1.overlay.png", "img2.overlay.png"], ["sub/img3.overlay.png"]]


def test_the_shared_fit_on_dask_labels_as_in_memory(tmp_path, capsys):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    inputs = write_folder(tmp_path / "in")
    maps = []
    for name, extra in (("memory", []), ("dask", ["--dask", "local"])):
        outdir = tmp_path / name   # EM on a 300-pixel sample, then on all pixels by blocks
        assert run_cli(capsys, "segment", inputs, "-o", outdir, "--shared-model", "-k", "3",
                       "--fit-pixels", "300", "--seed", "5", "-q", *extra)[0] == 0
        maps.append([np.asarray(Image.open(outdir / name_))
                     for name_ in ("img1.png", "img2.png", "sub/img3.png")])
    for memory, distributed in zip(*maps):
        np.testing.assert_array_equal(memory, distributed)
    status, _, err = run_cli(capsys, "segment", inputs, "-o", tmp_path / "x", "--dask", "local")
    assert status == 2 and "add --shared-model" in err


def test_score_finds_flat_annotations_and_batch_folders_and_names_what_it_skips(
        tmp_path, capsys):
    inputs, truth_dir = write_folder(tmp_path / "in"), tmp_path / "gt"
    for k in (1, 2):   # the segment workflow's layout: one run per batch folder
        assert run_cli(capsys, "segment", inputs, "-o", tmp_path / "out" / f"batch{k}", *FAST,
                       "--batch", f"{k}/2")[0] == 0
    truth_dir.mkdir()
    for index, stem in enumerate(("img1", "img3")):   # flat annotations; img2 has none
        _, truth = blocks_image(seed=2 * index, size=(24 + 8 * index, 32))
        Image.fromarray((truth + 1).astype(np.uint16)).save(truth_dir / f"{stem}.png")
    status, out, err = run_cli(capsys, "segment", "score", tmp_path / "out", truth_dir,
                               "--labels", "classes")
    assert status == 0, err
    scored = [line.split("\t")[0] for line in out.splitlines()[1:]]
    assert scored == ["img1", "sub/img3", "mean"]
    assert "1 label map(s) without annotations, not scored: img2" in err


def test_resume_redoes_an_image_whose_outputs_are_not_the_ones_recorded(tmp_path, capsys):
    """A run killed after writing an image's files but before its manifest line leaves new
    files under an old record: the digests differ, so the image is done again.  An
    unreadable manifest line does not block the resume."""
    inputs, outdir = write_folder(tmp_path / "in"), tmp_path / "out"
    assert run_cli(capsys, "segment", inputs, "-o", outdir, *FAST)[0] == 0
    Image.fromarray(np.zeros((24, 32), dtype=np.uint8)).save(outdir / "img1.png")
    with open(outdir / "manifest.jsonl", "ab") as handle:
        handle.write(b"\xff\xfe not json\n")
    status, _, err = run_cli(capsys, "segment", inputs, "-o", outdir, *FAST[:-1])
    assert status == 0 and "1 segmented, 2 already done" in err
    _, truth = blocks_image(seed=0, size=(24, 32))
    np.testing.assert_array_equal(np.asarray(Image.open(outdir / "img1.png")), truth)
