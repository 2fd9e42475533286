"""A Dask backend for the driver's ``map`` seam (optional extra ``dask``).

Chunks are the row blocks of a Dask array (from memory, a Zarr store, ...).  Each E-step
sends the current parameters with the model's ``e_step`` to the workers, which read
their block, turn it into the model's chunk with ``prepare`` and return the block's
additive statistics; only those travel back, and the driver adds them in block order.
Blocks are read again at every E-step unless the array was persisted, so the data may be
larger than the memory of the client and of the cluster.
"""

from collections.abc import Callable

from ..errors import UserInputError


def row_blocks(array) -> list:
    """The Dask array's row blocks as delayed objects (every column in one block)."""
    if array.ndim == 2 and len(array.chunks[1]) > 1:
        array = array.rechunk({1: -1})
    return list(array.to_delayed().ravel())


class DaskMap:
    """``map_fn`` for :func:`emapps.em.fit_em` over delayed blocks: ``function(prepare(
    block))`` per block, computed on ``client`` (a ``distributed.Client``), or on Dask's
    default scheduler when None.  Results come back in block order."""

    def __init__(self, client=None, prepare: Callable | None = None):
        self.client = client
        self.prepare = prepare

    def __call__(self, function, blocks) -> list:
        import dask

        prepare = self.prepare
        step = function if prepare is None else (lambda block: function(prepare(block)))
        tasks = [dask.delayed(step, pure=False)(block) for block in blocks]
        if self.client is None:
            return list(dask.compute(*tasks))
        return self.client.gather(self.client.compute(tasks))


def dask_client(address: str, workers: int):
    """A ``distributed.Client`` context: a LocalCluster of ``workers`` processes for
    'local', else the scheduler at ``address``."""
    from contextlib import contextmanager

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UserInputError("--dask needs the dask extra: pip install 'emapps[dask]'") from None

    @contextmanager
    def connected():
        cluster = None
        if address == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                   dashboard_address=":0")
            client = Client(cluster)
        else:
            try:
                client = Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as error:
                raise UserInputError(f"cannot reach the Dask scheduler at {address} "
                                     f"({error})") from None
        try:
            yield client
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    return connected()
