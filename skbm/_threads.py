"""How many BLAS threads skbm's work runs on.

Training, sampling and annealing are loops of many small matrix products
with element-wise work between them. On several BLAS threads each product
wakes the other threads and waits for them; when another process holds a
core, that wait costs more than the product itself.

Measured on a 2-core machine (``benchmarks/bench_threads.py`` has the full
table):

- One epoch of a 784 x 500 RBM (100 chains, 5 Gibbs steps per update) took
  1.07 s on two OpenBLAS threads and 1.83 s on one when the machine was
  quiet, but 3.69 s on two and 1.84 s on one with a busy process beside it.
- Forward and reverse AIS on it took 6.7 s on two threads and 10.2 s on one
  when quiet, but 21.2 s and 9.6 s when busy.
- A one-off product of 4000 x 784 x 500 took 27.8 ms on two threads and
  53.6 ms on one when quiet, and 50.0 ms on two when busy.

Loops therefore run on one BLAS thread, and ``n_jobs`` spreads independent
work over cores with joblib, each worker on one BLAS thread. A single large
product, such as transforming many rows, keeps the user's setting, since it
gains from threads even on a busy machine.

The limit is set with threadpoolctl (a dependency of scikit-learn) and the
user's setting is restored on exit, so an outer
``threadpoolctl.threadpool_limits`` is respected: skbm only ever lowers it.

AIS is the one loop with a second thread of its own: where a core would be
left idle (fewer joblib workers than CPUs) and the user allows more than
one BLAS thread, a helper thread draws the next page of random numbers and
sums the last page's log weights while the loop runs its products
(``helper_thread_pays``). On the 784 x 500 RBM (100 runs, 10,000 inverse
temperatures) that took the annealing from 1.39 to 1.15 times the time of
its products on the quiet machine. With a busy process beside it, where no
core is idle, the helper gains nothing: 1.45 against 1.38 in that run, and
within 6% either way in others.
"""

import functools
from contextlib import nullcontext
from contextvars import ContextVar

from joblib import cpu_count
from threadpoolctl import ThreadpoolController

# Multiply-adds of one product from which it runs on the user's BLAS threads:
# below it, waking a second thread costs more than it saves (100 x 64 x 256,
# 1.6e6, took 44 times as long on two threads as on one with a busy process
# beside it; 1000 x 64 x 256, 1.6e7, took 0.41 times as long).
PARALLEL_PRODUCT_SIZE = 2**24

_controller = None

# The BLAS threads the user allowed, recorded by the outermost
# ``on_one_blas_thread`` before it lowers them to one.
_user_blas_threads = ContextVar("user_blas_threads", default=None)


def _blas_controller():
    """A ThreadpoolController made once: limiting through it takes microseconds,
    where ``threadpool_limits`` inspects every loaded library each time."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def one_blas_thread():
    """Context manager that runs its block on one BLAS thread.

    The previous number of threads is restored on exit.

    Examples
    --------
    >>> import numpy as np
    >>> from skbm._threads import one_blas_thread
    >>> with one_blas_thread():
    ...     product = np.ones((3, 4)) @ np.ones((4, 2))
    >>> print(product[0, 0])
    4.0
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def blas_threads_for(product_size):
    """One BLAS thread for a product of fewer than ``PARALLEL_PRODUCT_SIZE``
    multiply-adds, the user's setting for a larger one (a context manager)."""
    if product_size >= PARALLEL_PRODUCT_SIZE:
        return nullcontext()
    return one_blas_thread()


def on_one_blas_thread(method):
    """Decorator: run ``method`` (a loop of small products) on one BLAS thread."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        token = None
        if _user_blas_threads.get() is None:
            token = _user_blas_threads.set(_current_blas_threads())
        try:
            with one_blas_thread():
                return method(*args, **kwargs)
        finally:
            if token is not None:
                _user_blas_threads.reset(token)

    return wrapper


def _current_blas_threads():
    infos = _blas_controller().select(user_api="blas").info()
    return max((info["num_threads"] for info in infos), default=1)


def helper_thread_pays(n_workers):
    """Whether work in ``n_workers`` processes may start one helper thread each.

    Only while a core is left idle (fewer workers than the CPUs joblib
    counts, which honours affinity and cgroup quotas) and the user allows
    more than one BLAS thread: a limit of one, set by the user, by
    ``threadpoolctl`` or by joblib in its workers, is taken to mean one
    thread in all.

    Parameters
    ----------
    n_workers : int
        Processes that will run the work side by side.

    Returns
    -------
    pays : bool
    """
    allowed = _user_blas_threads.get()
    if allowed is None:
        allowed = _current_blas_threads()
    return allowed > 1 and n_workers < cpu_count()
