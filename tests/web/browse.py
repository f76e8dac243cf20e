"""Driving the web app in headless Chromium: fill a form, submit, wait, read the page.

Built on the report tests' CDP harness (``tests/reports/browser.py``): a submitted form is a
navigation, so the console messages and requests of the page that loads are gathered the
same way ``Page.open`` gathers them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from reports.browser import Browser, Page, PageVisit

# Fill the form's fields by their names, then submit it with a click on its button.
FILL_AND_SUBMIT = """((values) => {
  for (const [name, value] of Object.entries(values)) {
    const el = document.querySelector(`form.facts [name="${name}"]`
      + (name === 'horizon' ? `[value="${value}"]` : ''));
    if (!el) throw new Error('no field ' + name);
    if (el.type === 'radio') { el.checked = true; } else { el.value = value; }
  }
  document.getElementById('submit').click();
  return true;
})(%s)"""


def submit_form(
    browser: Browser, page: Page, values: dict[str, str], *, timeout: float = 240
) -> PageVisit:
    """Fill and submit the page's form; wait for the next page's load event (and images)."""
    cdp = browser.cdp
    session = page._session
    first = len(cdp.events)
    t0 = time.monotonic()
    page.evaluate(FILL_AND_SUBMIT % json.dumps(values))
    cdp.wait_for("Page.loadEventFired", session, t0 + timeout, first)
    page.evaluate("new Promise(r => setTimeout(() => r(true), 150))")
    return page._visit("(form submission)", cdp.events[first:], time.monotonic() - t0)


def wait_until(page: Page, expression: str, *, timeout: float = 240) -> Any:
    """Evaluate ``expression`` until it is truthy (pages may reload meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = page.evaluate(expression)
        except Exception:  # the page is between two loads
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {expression}")
        time.sleep(0.3)


def events_since(browser: Browser, page: Page, first: int) -> PageVisit:
    """Requests and console messages of ``page`` since event index ``first``."""
    return page._visit("(since)", browser.cdp.events[first:], 0.0)
