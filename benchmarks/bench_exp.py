"""exp throughput on an L1-resident block: numba scalar math.exp, numpy, emapps' kernel.

    python benchmarks/bench_exp.py
"""

import math
import time

import numpy as np
from numba import njit

from emapps.kernels.logspace import exp_inplace

SIZE, REPEATS = 2048, 20000


@njit
def scalar_exp(values, out, repeats):
    for _ in range(repeats):
        for i in range(values.shape[0]):
            out[i] = math.exp(values[i])


@njit
def kernel_exp(values, out, repeats):
    for _ in range(repeats):
        out[:] = values
        exp_inplace(out)


def per_element(function):
    function(1)
    started = time.perf_counter()
    function(REPEATS)
    return (time.perf_counter() - started) / (SIZE * REPEATS) * 1e9


def main():
    rng = np.random.default_rng(0)
    values = rng.uniform(-30, 0, SIZE)
    out = np.empty(SIZE)
    rows = {
        "exp numba math.exp (scalar)": per_element(lambda n: scalar_exp(values, out, n)),
        "exp numpy np.exp": per_element(lambda n: [np.exp(values, out=out) for _ in range(n)]),
        "exp emapps exp_inplace": per_element(lambda n: kernel_exp(values, out, n)),
    }
    exact = np.exp(values)
    mine = values.copy()
    exp_inplace(mine)
    ulps = np.max(np.abs(mine - exact) / np.spacing(exact))
    for name, nanoseconds in rows.items():
        print(f"{name:<30} {nanoseconds:6.2f} ns/element")
    print(f"exp_inplace max error on this block: {ulps:.1f} ulp")


if __name__ == "__main__":
    main()
