"""Headless Debian chromium driven by selenium, for the page tests (nothing is downloaded:
the driver and the browser are the distribution's, named by path, so Selenium Manager never runs).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1366,768",
)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@contextmanager
def chromium() -> Iterator[Any]:
    """A fresh headless chromium (empty profile) whose console log the test can read."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="flowgauge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser log entries of level SEVERE (console errors, failed loads)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page loaded or fetched (performance resource entries, and the page)."""
    urls: list[str] = driver.execute_script(
        "return [location.href].concat(performance.getEntriesByType('resource')"
        ".map(function (e) { return e.name; }));"
    )
    return urls


def shown_samples(driver: Any) -> dict[str, tuple[str, str]]:
    """data-sample -> (data-value, the shown text without the baseline note) of every number."""
    pairs: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-sample]')).map(function (n) {"
        " var t = n.firstChild && n.firstChild.nodeType === 3 ? n.firstChild.textContent : '';"
        " return [n.getAttribute('data-sample'), n.getAttribute('data-value'), t]; });"
    )
    return {sample: (value, text) for sample, value, text in pairs}


def full_page_screenshot(driver: Any, path: Path) -> Path:
    """The whole page as PNG (not just the 1366x768 viewport), through the DevTools protocol."""
    import base64

    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
