"""The server over HTTP: pages, checks of every input, escaping, headers, read-only reports."""

from __future__ import annotations

import html
import re
import time
import urllib.parse

import pytest

from blinasim.disclaimer import DISCLAIMER

from .conftest import SECRET, Server
from .http_client import request

CHILD = {
    "age_years": "4",
    "sex": "female",
    "wbc_k_per_ul": "12",
    "cns": "1",
    "genetics": "neutral",
    "down_syndrome": "no",
    "day8_mrd": "0.5",
    "eoi_flow": "0",
    "eoi_hts": "0.001",
    "eoc_flow": "",
    "horizon": "5",
}
PAGES = ("/", "/explorer", "/reports", "/about")
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>x</script>",
)


def main_text(page: str) -> str:
    m = re.search(r"<main>(.*)</main>", page, re.S)
    assert m, "no <main> in the page"
    return m.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_disclaimer_headers_and_is_fast(server: Server, path: str) -> None:
    request(server.url + path)  # warm
    r = request(server.url + path)
    assert r.status == 200
    assert html.escape(DISCLAIMER, quote=True) in r.text or DISCLAIMER in r.text
    assert "oncologist" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.seconds < 1.0, f"{path} took {r.seconds:.2f} s"
    # nothing on the page points to another host
    for url in re.findall(r'(?:src|href|action)="([^"]+)"', r.text):
        assert url.startswith("/") or url.startswith("#"), url


def test_static_assets_are_served_from_the_package(server: Server) -> None:
    for path, kind in (("/static/style.css", "text/css"), ("/static/app.js", "javascript")):
        r = request(server.url + path)
        assert r.status == 200
        assert kind in r.headers["content-type"]
        assert "http://" not in r.text
        assert "https://" not in r.text


def test_unknown_page_is_404_with_message_and_disclaimer(server: Server) -> None:
    r = request(server.url + "/no/such/page")
    assert r.status == 404
    assert "Page not found" in r.text
    assert DISCLAIMER in r.text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("age_years", "four", "Age at diagnosis: expected a number"),
        ("age_years", "-3", "expected a number of 0 or more"),
        ("age_years", "1e309", "expected a number of 0 or more"),
        ("age_years", "30", "Age at diagnosis: expected an age in years"),
        ("sex", "other", "Sex: expected one of: female, male"),
        ("cns", "3", "expected one of: 1, 2"),
        ("genetics", "IKZF1", "expected one of: favorable, neutral, unfavorable"),
        ("down_syndrome", "maybe", "expected one of: no, yes"),
        ("eoi_flow", "150", "expected a percentage from 0 to 100"),
        ("eoi_hts", "unknown-ish", "expected a number"),
        ("wbc_k_per_ul", "9" * 70, "expected at most 64 characters"),
        ("horizon", "7", "expected 3, 5 or 10"),
    ],
)
def test_bad_facts_get_400_and_a_message_in_the_page(
    server: Server, field: str, value: str, words: str
) -> None:
    r = request(server.url + "/aid", form={**CHILD, field: value})
    assert r.status == 400
    m = re.search(r'id="error-message">(.*?)</div>', r.text, re.S)
    assert m, r.text[:2000]
    assert words in html.unescape(m.group(1))
    assert DISCLAIMER in r.text
    assert 'class="field invalid"' in r.text or field == "horizon"


def test_children_outside_standard_risk_are_refused_with_the_reason(server: Server) -> None:
    r = request(server.url + "/aid", form={**CHILD, "age_years": "12"})
    assert r.status == 400
    assert "outside NCI standard risk" in html.unescape(r.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_injection_in_every_field_comes_back_escaped(server: Server, payload: str) -> None:
    for field in [*CHILD, "unknown_field"]:
        r = request(server.url + "/aid", form={**CHILD, field: payload})
        assert r.status == 400, field
        body = main_text(r.text)
        assert payload not in body, field
        assert "<script>" not in body
        assert "onerror=" not in body.replace("onerror=alert", "")
    for field in ("stratum", "cycles", "dose", "placement"):
        form = {"stratum": "SR-Average", "cycles": "2", "dose": "15", "placement": "spread"}
        r = request(server.url + "/explorer", form={**form, field: payload})
        assert r.status == 400, field
        assert payload not in main_text(r.text), field
    r = request(server.url + "/" + urllib.parse.quote(payload))
    assert r.status == 404
    assert payload not in r.text


def test_requests_the_server_will_not_read(server: Server) -> None:
    big = request(
        server.url + "/aid",
        body=b"a=" + b"1" * 20_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert big.status == 413
    assert "larger than" in big.text
    js = request(server.url + "/aid", body=b"{}", headers={"Content-Type": "application/json"})
    assert js.status == 415
    assert "expected a form" in js.text
    many = "&".join(f"f{i}=1" for i in range(100)).encode()
    r = request(
        server.url + "/aid",
        body=many,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 400
    bad_utf8 = request(
        server.url + "/aid",
        body=b"age_years=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status == 400
    assert request(server.url + "/aid", method="PUT", body=b"").status == 405


def test_cross_site_posts_and_foreign_hosts_are_refused(server: Server) -> None:
    r = request(server.url + "/aid", form=CHILD, headers={"Origin": "http://evil.example"})
    assert r.status == 403
    r = request(
        server.url + "/explorer", form={"stratum": "SR-Average"}, headers={"Origin": "null"}
    )
    assert r.status == 403
    r = request(server.url + "/", headers={"Host": "evil.example"})  # DNS rebinding
    assert r.status == 400


def test_reports_are_listed_and_served_read_only(server: Server) -> None:
    r = request(server.url + "/reports")
    assert r.status == 200
    assert 'href="/reports/run-one/report.html"' in r.text
    assert ".hidden" not in r.text
    rep = request(server.url + "/reports/run-one/report.html")
    assert rep.status == 200
    assert "run report one" in rep.text
    assert "sandbox" in rep.headers["content-security-policy"]
    assert request(server.url + "/reports/run-one/summary.json").status == 200
    for bad in (
        "/reports/run-one/patients.parquet",
        "/reports/../secret.txt",
        "/reports/run-one/../../secret.txt",
        "/reports/%2e%2e/secret.txt",
        "/reports/run-one/%2e%2e/%2e%2e/secret.txt",
        "/reports//etc/passwd",
        "/reports/.hidden/report.html",
        "/reports/run-one",
    ):
        r = request(server.url + bad)
        assert r.status == 404, bad
        assert SECRET not in r.text
    assert request(server.url + "/reports/run-one/report.html", method="POST", body=b"").status in (
        403,
        405,
    )


def test_explorer_job_runs_with_progress_then_shows_paired_differences(server: Server) -> None:
    form = {"stratum": "SR-High", "cycles": "1", "dose": "28", "placement": "late"}
    r = request(server.url + "/explorer", form=form)
    assert r.status == 303
    job = r.headers["location"]
    assert re.fullmatch(r"/explorer/[0-9a-f]{16}", job)
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        st = request(server.url + job + "/status")
        assert st.status == 200
        seen.append(st.text)
        if '"state":"done"' in st.text or '"state":"failed"' in st.text:
            break
        time.sleep(0.3)
    assert '"state":"done"' in seen[-1], seen[-1]
    page = request(server.url + job)
    assert page.status == 200
    assert "this scenario minus chemotherapy alone" in page.text
    assert "1 cycle of 28 days at 28 µg/m²/day, after delayed intensification" in page.text
    assert "posterior" in page.text
    assert "AALL1731" in page.text
    # the same scenario again is the cached job: no new work
    again = request(server.url + "/explorer", form=form)
    assert again.headers["location"] == job
    assert request(server.url + "/explorer").text.count(job) >= 1
    assert request(server.url + "/explorer/ffffffffffffffff").status == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stratum", "SR-Favorable"),
        ("cycles", "4"),
        ("dose", "30"),
        ("dose", "4.9"),
        ("dose", "nan"),
        ("placement", "maintenance"),
    ],
)
def test_explorer_refuses_scenarios_outside_its_bounds(
    server: Server, field: str, value: str
) -> None:
    form = {
        "stratum": "SR-Average",
        "cycles": "2",
        "dose": "15",
        "placement": "spread",
        field: value,
    }
    r = request(server.url + "/explorer", form=form)
    assert r.status == 400
    assert f"{field}: expected" in html.unescape(r.text)
