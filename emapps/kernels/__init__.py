"""numba kernels: pure functions over arrays (see the README's design notes)."""
