"""Write docs/img/decision_aid.png: the decision aid's results page, as a browser shows it.

Starts ``blinasim serve`` on a free port in a subprocess, opens it in headless Chromium
(the test suite's CDP harness, tests/reports/browser.py), fills the form for one example
child (4-year-old girl, WBC 12, CNS1, neutral genetics, end-of-induction flow MRD
undetectable, HTS MRD 0.001%), submits it and saves the top of the results page. A figure
for the README, not an output of a run.

    .venv/bin/python scripts/make_decision_aid_screenshot.py [--out docs/img/decision_aid.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from reports.browser import Browser, find_chromium  # noqa: E402
from web.browse import submit_form  # noqa: E402
from web.conftest import loopback_allowed, start_server  # noqa: E402

CHILD = {
    "age_years": "4",
    "sex": "female",
    "wbc_k_per_ul": "12",
    "cns": "1",
    "genetics": "neutral",
    "down_syndrome": "no",
    "eoi_flow": "0",
    "eoi_hts": "0.001",
    "horizon": "5",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "decision_aid.png")
    ap.add_argument("--width", type=int, default=1100)
    ap.add_argument("--height", type=int, default=1500)
    ap.add_argument("--full", action="store_true", help="the whole page, not its top")
    args = ap.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("Chromium not found (make browser-deps)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        proc, srv = start_server(Path(tmp))
        try:
            with (
                loopback_allowed(),
                Browser(chromium, width=args.width, height=args.height, timeout=240) as b,
                b.page() as page,
            ):
                page.open(srv.url + "/")
                visit = submit_form(b, page, CHILD)
                if visit.errors or page.evaluate("location.pathname") != "/aid":
                    print(f"the results page did not load cleanly: {visit.errors}", file=sys.stderr)
                    return 1
                page.screenshot(args.out, full_page=args.full)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
