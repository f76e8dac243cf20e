"""The HTML report as a user sees it: opened from disk in headless Chromium, offline.

The report must render with no console error and no request beyond ``file:`` and ``data:``,
show the disclaimer on the first screen, and show every figure (image decoded, non-zero size).
A full-page PNG screenshot is saved in ``tmp_path`` (and in ``results/screenshots/`` when
``BLINASIM_KEEP_SCREENSHOTS=1``) so a person can look at it.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

from blinasim.jobs.analyze import analyze_example

from .browser import Browser, PageVisit

REPO = Path(__file__).resolve().parents[2]

# A valid 800x10 PNG (one grey row repeated), built here so the test needs no file.
TINY_PNG = base64.b64encode(
    b"\x89PNG\r\n\x1a\n"
    + b"".join(
        struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
        for tag, data in (
            (b"IHDR", struct.pack(">IIBBBBB", 800, 10, 8, 0, 0, 0, 0)),
            (b"IDAT", zlib.compress(b"".join(b"\x00" + b"\x80" * 800 for _ in range(10)))),
            (b"IEND", b""),
        )
    )
).decode()

# Everything the checks need from the rendered page, gathered in one evaluation.
PAGE_STATE = """(() => {
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
      && parseFloat(s.opacity) > 0;
  };
  const note = document.querySelector('.disclaimer');
  return {
    title: document.title,
    text: document.body.innerText,
    disclaimer: note && {
      text: note.innerText, visible: visible(note),
      top: note.getBoundingClientRect().top + scrollY,
      bottom: note.getBoundingClientRect().bottom + scrollY,
    },
    viewport: {width: innerWidth, height: innerHeight},
    scrollWidth: document.documentElement.scrollWidth,
    images: Array.from(document.images, i => ({
      alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth,
      naturalHeight: i.naturalHeight, visible: visible(i),
      width: i.getBoundingClientRect().width,
      inFigure: i.closest('figure') !== null,
    })),
    figures: document.querySelectorAll('figure').length,
    deadLinks: Array.from(document.querySelectorAll('a[href^="#"]'))
      .map(a => a.getAttribute('href'))
      .filter(h => !document.getElementById(decodeURIComponent(h.slice(1)))),
  };
})()"""


def report_problems(visit: PageVisit, state: dict[str, Any], *, n_figures: int) -> list[str]:
    """Every way the page falls short of what a user should see (empty when it is fine)."""
    problems = [f"network request: {u}" for u in visit.remote_requests]
    problems += [f"console: {m}" for m in visit.errors]
    note = state["disclaimer"]
    if note is None or "not medical advice" not in note["text"]:
        problems.append("no disclaimer element saying 'not medical advice'")
    elif not note["visible"] or note["bottom"] > state["viewport"]["height"]:
        problems.append(f"disclaimer not visible on the first screen: {note}")
    if "not medical advice" not in state["text"]:
        problems.append("'not medical advice' is not in the rendered text")
    if state["figures"] != n_figures or len(state["images"]) != n_figures:
        problems.append(
            f"expected {n_figures} figures, page has {state['figures']} <figure> and "
            f"{len(state['images'])} <img>"
        )
    for img in state["images"]:
        if not (img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0):
            problems.append(f"image did not load: {img['alt']!r}")
        elif not img["visible"] or not img["inFigure"]:
            problems.append(f"image not visible in a figure: {img['alt']!r}")
        elif img["width"] < min(img["naturalWidth"], 0.5 * min(state["viewport"]["width"], 1016)):
            problems.append(f"image shown too small ({img['width']:.0f} px): {img['alt']!r}")
    if state["scrollWidth"] > state["viewport"]["width"]:
        problems.append(
            f"page wider than the window: {state['scrollWidth']} > {state['viewport']['width']}"
        )
    problems += [f"link to a missing anchor: {h}" for h in state["deadLinks"]]
    return problems


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file (checks the signature)."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot to results/screenshots/ when BLINASIM_KEEP_SCREENSHOTS=1."""
    if os.environ.get("BLINASIM_KEEP_SCREENSHOTS") == "1":
        keep = REPO / "results" / "screenshots"
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, keep / path.name)


def test_analysis_report_renders_offline_in_chromium(tmp_path: Path, browser: Browser) -> None:
    run = analyze_example(tmp_path / "analysis")
    assert run.out_dir is not None
    report = run.out_dir / "report.html"
    n_figures = report.read_text(encoding="utf-8").count('src="data:image/png;base64,')
    assert n_figures >= 1

    with browser.page() as page:
        visit = page.open(report.as_uri())
        state = page.evaluate(PAGE_STATE)
        shot = page.screenshot(tmp_path / "report-analysis-veteran.png")
    keep_screenshot(shot)

    assert visit.requests[0] == report.as_uri()
    assert report_problems(visit, state, n_figures=n_figures) == []
    assert state["title"] == "Veterans' Administration lung cancer trial"
    for heading in ("Data", "Overall survival", "Methods"):
        assert heading in state["text"]
    width, height = png_size(shot)
    assert width == 1280
    assert height > 900  # the whole page, not just the first screen


def test_checks_catch_a_broken_page(tmp_path: Path, browser: Browser) -> None:
    """The checks above can fail: a page with every fault is reported for each of them."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<nav><a href="#nowhere">x</a></nav>'
        '<figure><img alt="remote" src="http://blinasim.invalid/plot.png"></figure>'
        '<figure><img alt="corrupt" src="data:image/png;base64,AAAA"></figure>'
        '<figure><img alt="tiny" style="width:20px" src="data:image/png;base64,'
        f'{TINY_PNG}"></figure>'
        '<div style="width:3000px">wide</div>'
        "<script>console.error('boom'); undefinedFunction();</script>"
        "</body></html>",
        encoding="utf-8",
    )
    with browser.page() as page:
        visit = page.open(bad.as_uri())
        state = page.evaluate(PAGE_STATE)
    problems = "\n".join(report_problems(visit, state, n_figures=4))
    for expected in (
        "network request: http://blinasim.invalid/plot.png",
        "console: [console:error] boom",
        "undefinedFunction is not defined",
        "no disclaimer element",
        "not in the rendered text",
        "expected 4 figures, page has 3",
        "image did not load: 'remote'",
        "image did not load: 'corrupt'",
        "image shown too small (20 px): 'tiny'",
        "page wider than the window",
        "link to a missing anchor: #nowhere",
    ):
        assert expected in problems


def test_aall1731_report_renders_offline_in_chromium(tmp_path: Path, browser: Browser) -> None:
    """The main job's report (``blinasim run aall1731``) as a user opens it."""
    from blinasim.jobs.run import RunConfig, run

    result = run(RunConfig(replicates=1, seed=3, posterior=None), tmp_path / "run", workers=1)
    report = result.out_dir / "report.html"
    n_figures = report.read_text(encoding="utf-8").count('src="data:image/png;base64,')
    assert n_figures >= 8
    with browser.page() as page:
        visit = page.open(report.as_uri())
        state = page.evaluate(PAGE_STATE)
        shot = page.screenshot(tmp_path / "report-aall1731.png")
    keep_screenshot(shot)
    assert report_problems(visit, state, n_figures=n_figures) == []
    for heading in (
        "Simulated versus published",
        "Disease-free survival",
        "Relapse by site",
        "CONSORT flow",
        "Parameters that ran",
    ):
        assert heading in state["text"]
