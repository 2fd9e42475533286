"""The Dask backend of the EM driver: a Dask array fitted block by block reaches the
in-memory fit's parameters from the same start, on Dask's default scheduler and on a
distributed LocalCluster through `emapps mixture fit --dask local` over a Zarr store."""

import numpy as np
import pytest

from emapps import GaussianMixture

from ..conftest import run_cli

da = pytest.importorskip("dask.array", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0, 1, (6000, 3)), rng.normal(2.5, 0.6, (4000, 3)),
                           rng.normal([4, 0, -2], 0.8, (3000, 3))])


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_blocks_reach_the_in_memory_parameters_from_the_same_start(data, covariance_type):
    start = GaussianMixture(3, covariance_type=covariance_type, max_iter=2, tol=0,
                            random_state=1).fit(data)
    settings = dict(covariance_type=covariance_type, weights_init=start.weights_,
                    means_init=start.means_, precisions_init=start.precisions_, tol=1e-10,
                    max_iter=60, random_state=0)
    in_memory = GaussianMixture(3, **settings).fit(data)
    blocks = da.from_array(data, chunks=(2500, 3))
    by_blocks = GaussianMixture(3, **settings).fit(blocks)
    assert by_blocks.n_iter_ == in_memory.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(by_blocks, name), getattr(in_memory, name),
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(by_blocks.lower_bounds_, in_memory.lower_bounds_, rtol=1e-12)
    assert by_blocks.bic(blocks) == pytest.approx(in_memory.bic(data), rel=1e-12)


def test_cli_fits_a_zarr_store_on_a_local_cluster_as_it_fits_the_table(data, tmp_path,
                                                                         capsys):
    zarr = pytest.importorskip("zarr")
    store = zarr.open(str(tmp_path / "x.zarr"), mode="w", shape=data.shape, chunks=(4000, 3),
                      dtype="f8")
    store[:] = data
    table = tmp_path / "x.csv"
    np.savetxt(table, data, delimiter=",", header="x0,x1,x2", comments="")
    status, distributed, _ = run_cli(capsys, "mixture", "fit", tmp_path / "x.zarr", "-k",
                                     "2..3", "--dask", "local", "--threads", "2",
                                     "--chunk-rows", "5000", "--seed", "4", "-q")
    assert status == 0
    status, in_memory, _ = run_cli(capsys, "mixture", "fit", table, "-k", "2..3", "--seed",
                                   "4", "-q")
    assert status == 0 and distributed == in_memory   # rows < INIT_ROWS: the same start


def test_dask_options_are_checked(data, tmp_path, capsys):
    np.save(tmp_path / "x.npy", data)
    status, _, err = run_cli(capsys, "mixture", "fit", tmp_path / "x.npy", "--dask", "local",
                             "--bootstrap", "10")
    assert status == 2 and "--bootstrap needs the data in memory" in err
    status, _, err = run_cli(capsys, "mixture", "fit", tmp_path / "x.npy", "--dask", "local",
                             "--columns", "x9")
    assert status == 2 and "no column(s) x9" in err


def test_an_npy_array_has_the_same_column_names_in_memory_and_on_dask(data, tmp_path, capsys):
    import json

    np.save(tmp_path / "x.npy", data)
    columns = {}
    for name, extra in (("memory", []), ("dask", ["--dask", "local", "--threads", "1"])):
        status, _, err = run_cli(capsys, "mixture", "fit", tmp_path / "x.npy", "-k", "2",
                                 "--columns", "x0,x2", "--seed", "1", "-q", *extra,
                                 "--json", tmp_path / f"{name}.json")
        assert status == 0, err
        columns[name] = json.loads((tmp_path / f"{name}.json").read_text())["columns"]
    assert columns["memory"] == columns["dask"] == ["x0", "x2"]
