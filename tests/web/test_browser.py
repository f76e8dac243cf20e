"""The decision aid and the explorer as a user sees them, in headless Chromium.

The server runs as ``blinasim serve`` in a subprocess; the browser resolves no host name,
so a request to another host could not succeed, and the test fails if the page even tries.
Checked: the form is filled and submitted, the results show the risk group, plain-language
sentences, a table, two charts and icon arrays of exactly 100 people whose legend counts
sum to 100; the horizon picker switches the view; print styles hide the controls; no
console error (a Content-Security-Policy violation is one) and no request to another host;
a full-page screenshot is saved. The explorer shows its progress, then its results.
"""

from __future__ import annotations

from pathlib import Path

from reports.browser import Browser

from .browse import events_since, submit_form, wait_until
from .conftest import Server

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

RESULTS_STATE = """(() => {
  const visible = el => { if (!el) return false; const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).display !== 'none'; };
  const sections = Array.from(document.querySelectorAll('section.horizon'));
  return {
    path: location.pathname,
    risk: (document.getElementById('risk-group') || {}).innerText || '',
    shown: sections.filter(visible).map(s => s.dataset.horizon),
    sentences: Array.from(document.querySelectorAll('section.horizon:not([hidden]) p.plain'),
                          p => p.innerText),
    arrays: Array.from(document.querySelectorAll('.icon-array'), a => ({
      horizon: a.closest('section').dataset.horizon,
      option: a.dataset.option,
      icons: a.querySelectorAll('svg.icons path.icon').length,
      legend: Array.from(a.querySelectorAll('.legend-list .count'), c => Number(c.innerText)),
      visible: visible(a),
    })),
    tableRows: document.querySelectorAll('#outcomes tbody tr').length,
    charts: Array.from(document.querySelectorAll('svg.chart'), s => ({
      lines: s.querySelectorAll('polyline.line').length,
      bands: s.querySelectorAll('polygon.band').length, visible: visible(s)})),
    picker: visible(document.getElementById('horizon-picker')),
    printButton: visible(document.getElementById('print-button')),
    disclaimerTop: (document.querySelector('.disclaimer') || document.body)
      .getBoundingClientRect().bottom,
    text: document.body.innerText,
  };
})()"""


def local_only(requests: tuple[str, ...], origin: str) -> list[str]:
    return [u for u in requests if not (u.startswith(origin + "/") or u.startswith("data:"))]


def test_decision_aid_in_the_browser(server: Server, web_browser: Browser, tmp_path: Path) -> None:
    with web_browser.page() as page:
        first = page.open(server.url + "/")
        assert first.load_seconds < 5
        after = submit_form(web_browser, page, CHILD)
        st = page.evaluate(RESULTS_STATE)
        assert st["path"] == "/aid", st["text"][:2000]
        assert st["risk"], st["text"][:3000]
        assert "not medical advice" in st["text"].lower()
        assert "oncologist" in st["text"]
        assert st["disclaimerTop"] < 900
        # the chosen horizon first, the others hidden until picked
        assert st["shown"] == ["5"]
        assert any("out of 100 children like yours" in s for s in st["sentences"])
        assert any("extra" in s or "fewer" in s or "same" in s for s in st["sentences"])
        assert st["tableRows"] >= 4
        assert len(st["charts"]) == 2
        for c in st["charts"]:
            assert c["visible"]
            assert c["lines"] >= 2  # one per option (legend lines too)
            assert c["bands"] >= 1
        assert st["arrays"], "no icon array"
        for a in st["arrays"]:
            assert a["icons"] == 100, a
            assert sum(a["legend"]) == 100, a
        assert [a["visible"] for a in st["arrays"] if a["horizon"] == "5"] == [True] * len(
            [a for a in st["arrays"] if a["horizon"] == "5"]
        )
        # script ran: the picker and the print button are shown, and the picker works
        assert st["picker"]
        assert st["printButton"]
        mark = len(web_browser.cdp.events)
        page.evaluate("document.querySelector('input[name=show-horizon][value=\"10\"]').click()")
        shown = page.evaluate(
            "Array.from(document.querySelectorAll('section.horizon')).filter(s => !s.hidden)"
            ".map(s => s.dataset.horizon)"
        )
        assert shown == ["10"]
        # printable: controls hidden by the print style sheet, results kept
        page._send("Emulation.setEmulatedMedia", {"media": "print"})
        hidden = page.evaluate(
            "['nav', '#horizon-picker', '#print-button']"
            ".map(q => getComputedStyle(document.querySelector(q)).display)"
        )
        assert hidden == ["none", "none", "none"]
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#outcomes')).display") != "none"
        )
        page._send("Emulation.setEmulatedMedia", {"media": ""})
        late = events_since(web_browser, page, mark)
        for visit in (first, after, late):
            assert not visit.errors, [str(m) for m in visit.errors]
            assert not local_only(visit.requests, server.url), visit.requests
        assert any(u.endswith("/static/style.css") for u in first.requests)
        shot = page.screenshot(tmp_path / "decision_aid.png")
        assert shot.stat().st_size > 20_000


def test_form_errors_show_in_the_page(server: Server, web_browser: Browser) -> None:
    with web_browser.page() as page:
        page.open(server.url + "/")
        visit = submit_form(web_browser, page, {**CHILD, "age_years": "four"})
        msg = page.evaluate("document.getElementById('error-message').innerText")
        assert "Age at diagnosis: expected a number" in msg
        assert page.evaluate("document.getElementById('f-age_years').value") == "four"
        # a 400 page is logged by Chromium as a failed resource load, nothing else
        other = [m for m in visit.errors if "400" not in m.text]
        assert not other, [str(m) for m in other]


def test_explorer_shows_progress_then_results(server: Server, web_browser: Browser) -> None:
    with web_browser.page() as page:
        page.open(server.url + "/explorer")
        mark = len(web_browser.cdp.events)
        page.evaluate(
            "(() => { const f = document.querySelector('form.facts');"
            "f.stratum.value = 'SR-Average'; f.cycles.value = '3'; f.dose.value = '5';"
            "f.placement.value = 'spread'; document.getElementById('submit').click(); return 1; })()"
        )
        wait_until(page, "location.pathname.startsWith('/explorer/')")
        wait_until(page, "document.getElementById('scenario-differences') !== null")
        text = page.evaluate("document.body.innerText")
        assert "3 cycles of 28 days at 5 µg/m²/day" in text
        assert "this scenario minus AALL1731" in text
        assert "not medical advice" in text.lower()
        visit = events_since(web_browser, page, mark)
        assert not visit.errors, [str(m) for m in visit.errors]
        assert not local_only(visit.requests, server.url), visit.requests
        assert any("/status" in u for u in visit.requests) or "Computed in" in text
