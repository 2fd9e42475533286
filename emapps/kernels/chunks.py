"""Fixed row chunks and their in-order reduction: the source of thread-count independence."""

from ._jit import kernel


@kernel()
def n_chunks(n_rows, chunk_rows):
    """Chunks of ``chunk_rows`` rows covering n_rows (at least one, even when empty)."""
    return max(1, (n_rows + chunk_rows - 1) // chunk_rows)


@kernel()
def sum_chunks(nk_c, sx_c, sxx_c, ll_c):
    """Add per-chunk statistics (leading axis = chunk) in chunk order."""
    nk = nk_c[0].copy()
    sx = sx_c[0].copy()
    sxx = sxx_c[0].copy()
    loglik = ll_c[0]
    for c in range(1, nk_c.shape[0]):
        nk += nk_c[c]
        sx += sx_c[c]
        sxx += sxx_c[c]
        loglik += ll_c[c]
    return nk, sx, sxx, loglik


@kernel()
def sum_chunk_pair(nk_c, sx_c, ll_c):
    """Like :func:`sum_chunks` for models with two statistics arrays."""
    nk = nk_c[0].copy()
    sx = sx_c[0].copy()
    loglik = ll_c[0]
    for c in range(1, nk_c.shape[0]):
        nk += nk_c[c]
        sx += sx_c[c]
        loglik += ll_c[c]
    return nk, sx, loglik
