"""Run one `helpspace` command in this process and print its wall time and peak RSS as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time

from pipelines.cli import main

if __name__ == "__main__":
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code = main(sys.argv[1:])
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "elapsed": elapsed, "peak_rss_mb": peak_kb / 1024, "start_rss_mb": before / 1024}))
