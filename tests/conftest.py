"""Shared fixtures: real data paths and thread control."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI must be deterministic: the same generated examples on every run.
# `pytest --hypothesis-profile=hunt` draws fresh examples to look for new failures.
settings.register_profile("emapps", derandomize=True, database=None)
settings.register_profile("hunt", derandomize=False, database=None)
settings.load_profile("emapps")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SHARED = Path(os.environ.get("EMAPPS_SHARED", ROOT.parent / "shared"))


def load_csv(name):
    from emapps.io.tables import read_table
    return read_table(str(DATA / "tabular" / name))


@pytest.fixture(scope="session")
def faithful():
    return load_csv("old_faithful.csv")[0]


@pytest.fixture(scope="session")
def airquality():
    return load_csv("airquality.csv")[0]


@pytest.fixture
def threads():
    """Call threads(n) to run kernels on n threads; restored afterwards."""
    from emapps.core.runtime import get_threads, set_threads
    before = get_threads()
    yield set_threads
    set_threads(before)


def random_spd(rng, n_components, n_features):
    A = rng.normal(size=(n_components, n_features, n_features))
    return A @ A.transpose(0, 2, 1) + n_features * np.eye(n_features)


def precision_cholesky_upper(covariances):
    return np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])


def run_cli(capture, *argv):
    """Run ``emapps`` with ``argv`` (str()-ed) in-process; (status, stdout, stderr)
    captured by the ``capture`` fixture (capsys, or capfd for output written by C code)."""
    from emapps.cli import main
    status = main([str(arg) for arg in argv])
    captured = capture.readouterr()
    return status, captured.out, captured.err
