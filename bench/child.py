"""Run one `helpspace` command in this process and print its wall time and peak RSS as JSON.

Peak RSS is read from /proc/self/status (VmHWM): `ru_maxrss` survives fork+exec and
would report the benchmark parent's high-water mark instead of ours.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from pipelines.cli import main


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    before = peak_rss_mb()
    started = time.perf_counter()
    code = main(sys.argv[1:])
    elapsed = time.perf_counter() - started
    print(json.dumps({"code": code, "elapsed": elapsed, "peak_rss_mb": peak_rss_mb(), "start_rss_mb": before}))
