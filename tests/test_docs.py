"""The documentation site builds with MkDocs in strict mode (warnings are errors): the
pages, the gallery drawn by a demo run, the CLI reference from the click commands and the
API reference from docstrings."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed")

BUILD = Path(__file__).resolve().parents[1] / "docs" / "build.py"


def test_the_site_builds_without_warnings(tmp_path):
    finished = subprocess.run([sys.executable, str(BUILD), "--site", str(tmp_path / "site")],
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "emapps impute ligate" in cli and "--dask" in cli    # every subcommand
    assert "Sentinel" not in cli and "<code>200</code>" in cli    # defaults as users read them
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "CohortCopier" in api and "DaskMap" in api and "ImageSegmenter" in api
    for page in ("mixture", "impute", "haplo", "admix", "segment", "recsys", "workflows"):
        assert (tmp_path / "site" / page / "index.html").exists()
    gallery = (tmp_path / "site" / "gallery" / "index.html").read_text()
    for picture in ("mixture_trace", "mixture_bic", "segment_overlay", "haplo_frequencies",
                    "impute_r2", "recsys_explanation", "admix_proportions"):
        assert f"{picture}.png" in gallery
        assert (tmp_path / "site" / "gallery" / f"{picture}.png").stat().st_size > 5000
    assert gallery.count("emapps mixture fit data/tabular/old_faithful.csv") == 2   # the code
    assert "def _imputation_r2" in gallery and "emapps haplo data/haplo" in gallery
