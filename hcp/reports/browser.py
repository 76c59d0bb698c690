"""Headless Chromium (the system's, through playwright) for screenshots of reports and of the Prefect UI.

Playwright's own browser download does not work offline, so this always launches `/usr/bin/chromium` (or the
path given) with the flags a sandbox-less, network-less machine needs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hcp.reports.exceptions import ReportError

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
)


def chromium_path(explicit: str | None = None) -> str:
    """The Chromium executable to launch; raises `ReportError` saying how to install it if there is none."""
    for candidate in (explicit, "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ReportError("no Chromium found: install it (apt-get install -y chromium) or pass its path")


@contextmanager
def chromium_page(width: int = 1400, height: int = 900, executable: str | None = None) -> Iterator[object]:
    """A playwright page in headless system Chromium, closed (with the browser) on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(executable), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def screenshot_file(html_file: Path, out: Path, width: int = 1200, full_page: bool = True) -> Path:
    """A PNG of a local HTML file (such as a daily report), the whole page by default."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with chromium_page(width=width) as page:
        page.goto(html_file.resolve().as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(out), full_page=full_page)
    return out
