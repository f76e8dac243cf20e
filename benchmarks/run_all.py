"""Run every benchmark script in this folder (``make bench``) and print their tables.

``python benchmarks/run_all.py [NAME ...] [--quick]``: only the named scripts (``stats``,
``engine``, ``trial``, ``calibrate``); ``--quick`` is passed to the scripts that have it.
Each script runs in its own process, so one's threads and caches do not colour another's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {"stats", "trial", "cea"}  # scripts with a --quick flag


def main() -> int:
    args = sys.argv[1:]
    quick = "--quick" in args
    only = {a for a in args if not a.startswith("-")}
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_")
    )
    if only:
        unknown = only - {p.stem for p in scripts}
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        scripts = [p for p in scripts if p.stem in only]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        cmd = [sys.executable, str(script)]
        if quick and script.stem in QUICK:
            cmd.append("--quick")
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
