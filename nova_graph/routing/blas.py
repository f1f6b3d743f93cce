"""One BLAS thread for the router's small products and decompositions.

On a busy 2-core machine, BLAS waking idle threads for a small product or a 384 x 384
eigendecomposition costs more than the arithmetic: ``numpy.linalg.eigh`` of that size took
0.9-2.3 s on its default threads with both cores busy, against ~0.06 s on one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController().select(user_api="blas")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread inside the block (the libraries' own setters: ``threadpoolctl``'s
    ``limit`` takes an inventory of every library on each call, ~40 us a decision)."""
    libs = _BLAS.lib_controllers
    previous = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, threads in zip(libs, previous, strict=True):
            if threads is not None:
                lib.set_num_threads(threads)
