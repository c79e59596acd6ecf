"""Run one command and report its wall time and peak memory as one JSON line on stdout.

    python benchmarks/measure.py [--stdout FILE] [--stderr FILE] -- CMD ARG...

This wrapper exists so that every measurement's memory is its own: ``ru_maxrss`` of
``RUSAGE_CHILDREN`` is the largest resident set of any descendant this process waited for
(the command and, e.g., the workers of its process pool), and a fresh wrapper per command means
no earlier command can leak into it. ``ru_maxrss`` is per process, so while the command runs
the wrapper also samples the whole process tree and sums its proportional set sizes (PSS,
``/proc/PID/smaps_rollup``: a page shared by a forked pool's workers counts once in total, split
among its sharers) — the physical memory the command needs. The plain sum of resident sets
(``/proc/PID/statm``, which counts a shared page once per process) is reported as well, as an
upper bound. Sampling backs off so that it never takes more than about 2 % of one core (every
20 ms at best). The reported ``peak_kib`` is the larger of ``ru_maxrss`` and the PSS peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return out


def _mem_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return _mem_kib(pid)


def tree_kib(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) over the process tree under ``root``."""
    rss, pss, todo, seen = 0, 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        rss += _mem_kib(pid)
        pss += _pss_kib(pid)
        todo.extend(_children(pid))
    return rss, pss


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stderr", default=None)
    ap.add_argument("--cwd", default=None)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    peak = [0, 0]  # RSS sum, PSS sum
    done = threading.Event()
    with open(a.stdout, "wb") as out, open(a.stderr or os.devnull, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=a.cwd)

        def sample() -> None:
            wait = a.interval
            while not done.wait(wait):
                c0 = time.thread_time()
                rss, pss = tree_kib(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                wait = max(a.interval, 50 * (time.thread_time() - c0))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    maxrss_kib = ru.ru_maxrss  # KiB on Linux
    print(json.dumps({"returncode": rc, "seconds": seconds, "maxrss_kib": maxrss_kib,
                      "tree_kib": peak[1], "tree_rss_kib": peak[0], "peak_kib": max(maxrss_kib, peak[1]),
                      "cpu_seconds": ru.ru_utime + ru.ru_stime,
                      "wrapper_cpu_seconds": me.ru_utime + me.ru_stime}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
