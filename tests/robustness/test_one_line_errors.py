"""User errors in options shared by every command: one line on stderr, exit 2, no
output."""

import numpy as np
import pytest

from ..conftest import DATA, run_cli

COMMANDS = {
    "mixture fit": ["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "2"],
    "haplo": ["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/h"],
    "impute": ["impute", DATA / "impute" / "target.vcf.gz", "-o", "{out}/i.vcf.gz"],
    "impute mask": ["impute", "mask", DATA / "impute" / "truth.vcf.gz", "--design", "random",
                    "-o", "{out}/m.vcf.gz"],
    "recsys fit": ["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", "{out}/r.npz"],
    "segment": ["segment", DATA / "images", "-o", "{out}/s"],
}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_negative_seed_is_one_line(command, tmp_path, capsys):
    argv = [str(part).replace("{out}", str(tmp_path)) for part in COMMANDS[command]]
    status, out, err = run_cli(capsys, *argv, "--seed", "-1")
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "--seed" in err
    assert list(tmp_path.iterdir()) == []


REQUIRED = {   # a command, and the required option left out of it
    "impute": (["impute", DATA / "impute" / "target.vcf.gz"], "--output"),
    "impute convert": (["impute", "convert", DATA / "impute" / "ref.vcf.gz"], "--output"),
    "impute mask": (["impute", "mask", DATA / "impute" / "truth.vcf.gz", "-o", "{out}/m"],
                    "--design"),
    "impute score": (["impute", "score", "{out}/x.vcf.gz"], "--truth"),
    "haplo": (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf"], "--output"),
    "segment": (["segment", DATA / "images"], "--outdir"),
    "recsys fit": (["recsys", "fit", DATA / "recsys" / "synthetic_u.data"], "--output"),
}


@pytest.mark.parametrize("command", REQUIRED, ids=list(REQUIRED))
def test_a_missing_required_option_is_one_line(command, tmp_path, capsys):
    arguments, option = REQUIRED[command]
    argv = [str(part).replace("{out}", str(tmp_path)) for part in arguments]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "Missing option" in err
    assert option in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_explaining_an_unknown_item_prints_nothing_but_the_error(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run_cli(capsys, "recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", model,
                   "-k", "2", "--max-iter", "2", "--seed", "0", "-q")[0] == 0
    status, out, err = run_cli(capsys, "recsys", "explain", model, "--user", "1", "--item",
                               "nothing")
    assert status == 2 and out == "" and "unknown item id(s): nothing" in err


def test_a_row_of_empty_fields_is_refused_not_dropped(tmp_path, capsys):
    """Dropping it would shift every later prediction onto the wrong row."""
    table = tmp_path / "t.csv"
    lines = (DATA / "tabular" / "old_faithful.csv").read_text().splitlines()
    table.write_text("\n".join([*lines[:4], ",", *lines[4:]]) + "\n")
    for argv in (["mixture", "fit", table, "-k", "2", "-q"],
                 ["mixture", "impute", table, "-k", "1", "-o", tmp_path / "filled.csv"]):
        status, out, err = run_cli(capsys, *argv)
        assert status == 2 and out == ""
        assert err.strip() == (f"emapps: error: {table}, line 5: every field is empty; give "
                               f"the row's values or remove it (outputs are aligned by row)")
    assert not (tmp_path / "filled.csv").exists()


def plain_gzip(tmp_path):
    import gzip

    path = tmp_path / "plain.vcf.gz"
    path.write_bytes(gzip.compress((DATA / "haplo" / "kg_chr20_100snp_unphased.vcf")
                                   .read_bytes()))
    return path


@pytest.mark.parametrize("argv, message", [
    (["segment", DATA / "images" / "coffee.png", "-o", "{out}/s", "--max-iter", "0"],
     "max_iter must be an integer >= 1"),
    (["segment", DATA / "images" / "coffee.png", "-o", "{out}/s", "-k", "3", "--fit-pixels",
      "1"], "--fit-pixels must be 0 (all pixels) or at least 150"),
    (["segment", DATA / "images", "-o", "{out}/s", "--shared-model", "-k", "3",
      "--shared-pixels", "1"], "--shared-pixels must be at least 150"),
    (["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", "{out}/m.npz", "--tol",
      "-1"], "tol must be a number >= 0"),
    (["recsys", "fit", DATA / "recsys" / "synthetic_u.data", "-o", "-"],
     "a model is a file (.npz), not stdout"),
    (["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "2", "-o", "-"],
     "a model is a file (.npz), not stdout"),
    (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/"],
     "-o takes a prefix for four files"),
    (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "-"],
     "-o takes a prefix for four files"),
    (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/h",
      "--min-freq", "2"], "--min-freq must be in [0, 1)"),
    (["haplo", DATA / "haplo" / "kg_chr20_100snp_unphased.vcf", "-o", "{out}/h", "--loci",
      "rs7273237,rs7273237"], "locus name(s) given more than once: rs7273237"),
    (["impute", DATA / "impute" / "target.vcf.gz", "-s", "HG00100,HG00102,HG00103",
      "--cohort-model", "clusters", "-k", "7", "-o", "{out}/x.vcf.gz"],
     "7 clusters for 6 haplotypes"),
    (["haplo", "{gzip}", "-o", "{out}/h", "-r", "20:1-2000000"],
     "compressed with gzip, not bgzip, so -r/-R cannot seek in it"),
])
def test_options_that_make_no_sense_are_one_line(argv, message, tmp_path, capsys):
    argv = [str(part).replace("{out}", str(tmp_path / "out"))
            .replace("{gzip}", str(plain_gzip(tmp_path))) for part in argv]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "-").exists()


def test_a_plain_gzip_vcf_is_read_as_a_stream(tmp_path, capsys):
    """As when piped in: the same tables as from the uncompressed file."""
    source = DATA / "haplo" / "kg_chr20_100snp_unphased.vcf"
    for name, path in (("plain", source), ("gzip", plain_gzip(tmp_path))):
        status, _, err = run_cli(capsys, "haplo", path, "-o", tmp_path / name, "--seed", "1",
                                 "-q")
        assert status == 0, err
    assert ((tmp_path / "plain.freqs.tsv").read_bytes()
            == (tmp_path / "gzip.freqs.tsv").read_bytes())


def test_ratings_beyond_double_precision_are_one_line(tmp_path, capsys):
    lines = (DATA / "recsys" / "synthetic_u.data").read_text().splitlines()
    user, item, _, *rest = lines[0].split("\t")
    ratings = tmp_path / "r.data"
    ratings.write_text("\n".join(["\t".join([user, item, "1e300", *rest]), *lines[1:]]) + "\n")
    status, out, err = run_cli(capsys, "recsys", "fit", ratings, "-o", tmp_path / "m.npz",
                               "-k", "2", "--seed", "0", "-q")
    assert status == 2 and out == "" and not (tmp_path / "m.npz").exists()
    errors = [line for line in err.splitlines() if "error" in line]
    assert errors == [line for line in err.splitlines() if "warning" not in line]
    assert len(errors) == 1 and "the objective became nan at EM iteration 1" in errors[0]
    assert "values too large for double precision" in errors[0]


@pytest.mark.filterwarnings("ignore:log-likelihood decreased:RuntimeWarning")
def test_data_in_tiny_units_warn_that_reg_covar_swamps_them(tmp_path, capsys):
    values = np.loadtxt(DATA / "tabular" / "old_faithful.csv", delimiter=",", skiprows=1)
    table = tmp_path / "small.csv"
    np.savetxt(table, values * 1e-4, delimiter=",", header="a,b", comments="")
    status, _, err = run_cli(capsys, "mixture", "fit", table, "-k", "1..3", "-q")
    assert status == 0
    lines = [line for line in err.splitlines() if "reg_covar" in line]
    assert len(lines) == 1 and lines[0].startswith("emapps: warning: reg_covar 1e-06 is not "
                                                   "small against the smallest variance")
    status, out, _ = run_cli(capsys, "mixture", "fit", table, "-k", "1..3", "-q",
                             "--reg-covar", "1e-12")
    assert status == 0 and "chosen: K=2" in out   # the fix the warning names works


def test_segment_writes_nothing_outside_its_folder(tmp_path, capsys):
    images = tmp_path / "in"
    (images / "a").mkdir(parents=True)
    from PIL import Image
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(images / "a" / "x.png")
    status, _, err = run_cli(capsys, "segment", f"{images}/*/../a/x.png", "-o",
                             tmp_path / "out", "-k", "2", "--spatial", "none", "-q")
    assert status == 2 and "write outside the output folder" in err
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text("")
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / "manifest.jsonl").symlink_to(outside)
    status, _, err = run_cli(capsys, "segment", images, "-o", tmp_path / "out2", "-k", "2",
                             "--spatial", "none", "-q")
    assert status != 0 and "symbolic link" in err and outside.read_text() == ""


@pytest.mark.parametrize("argv, message", [
    (["mixture", "fit", DATA / "tabular" / "old_faithful.csv", "-k", "5..2"],
     "-k 5..2: a range goes from low to high, e.g. 2..5"),
    (["segment", DATA / "images" / "coffee.png", "-o", "{out}/s", "--max-pixels", "-1"],
     "--max-pixels must be an integer >= 1"),
    (["impute", "{one_site}", "--ref", DATA / "impute" / "ref.vcf.gz", "-o", "{out}/x.vcf"],
     "imputation needs at least 2 typed sites"),
])
def test_more_options_and_inputs_are_one_line(argv, message, tmp_path, capsys):
    import gzip

    one_site = tmp_path / "one.vcf"
    lines = [line for line in gzip.open(DATA / "impute" / "target.vcf.gz", "rt")]
    header = [line for line in lines if line.startswith("#")]
    one_site.write_text("".join(header) + next(line for line in lines
                                               if not line.startswith("#")))
    argv = [str(part).replace("{out}", str(tmp_path / "out"))
            .replace("{one_site}", str(one_site)) for part in argv]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and message in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_an_image_above_max_pixels_names_the_limit_it_was_given(tmp_path, capsys):
    status, _, err = run_cli(capsys, "segment", DATA / "images" / "coffee.png", "-o",
                             tmp_path / "s", "--max-pixels", "1000", "-k", "2", "-q")
    assert status == 1 and "more than 1000 pixels" in err and "--max-pixels" in err


def test_a_fit_that_cannot_fit_in_memory_says_so_before_allocating(tmp_path, capsys):
    status, out, err = run_cli(capsys, "recsys", "fit", DATA / "recsys" / "synthetic_u.data",
                               "-k", "5000", "-o", tmp_path / "m.npz")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "the factor model with -k 5000 on 300 users x 399 items needs about" in err
    assert "GiB are available; lower -k" in err and not (tmp_path / "m.npz").exists()
