"""Worker processes: one place that decides how they start.

"fork" where it exists and is safe (Linux, a caller without threads): the workers share the
parent's memory and start in milliseconds. "spawn" elsewhere — Windows and macOS have only
spawn, and forking a multi-threaded process (a Jupyter kernel) can deadlock the children —
so everything a worker gets is pickled and every worker function is a module-level function.
``XLTOOLS_START_METHOD=spawn`` forces spawn here, so a pickling or ``__main__`` problem shows up
in the tests on Linux and not on a user's PC.
"""

from __future__ import annotations

import os
import threading


def context():
    """The multiprocessing context for a pool started now."""
    import multiprocessing as mp

    methods = mp.get_all_start_methods()
    wanted = os.environ.get("XLTOOLS_START_METHOD", "").strip().lower()
    if wanted in methods:
        return mp.get_context(wanted)
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def forking(ctx) -> bool:
    return ctx.get_start_method() == "fork"


def executor(workers: int, ctx=None):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=ctx or context())
