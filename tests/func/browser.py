"""Headless Debian Chromium through Selenium, for tests of HTML reports.

Uses the system's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``scripts/setup.sh
--test`` installs them) through an explicit ``Service``, so Selenium Manager never downloads a
browser or a driver. The browser runs with a fresh profile, no background networking, and the
console log enabled, so a test can assert that a page logged no JavaScript error.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SETUP_HINT = "run scripts/setup.sh --test (it installs Debian's chromium and chromium-driver)"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def missing() -> str | None:
    """Why the browser cannot start (a message naming the setup script), or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing: {SETUP_HINT}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return f"selenium is not installed: {SETUP_HINT}"
    return None


@contextlib.contextmanager
def chromium(window: tuple[int, int] = (1280, 900)):
    """A headless Chromium WebDriver with a throw-away profile; quit and cleaned up on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dataver-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console(driver) -> list[dict]:
    """Console entries logged since the last call (each ``{"level", "message", ...}``)."""
    return driver.get_log("browser")


def errors(entries: list[dict]) -> list[str]:
    """Messages of SEVERE console entries (uncaught exceptions, console.error, CSP violations)."""
    return [e["message"] for e in entries if e.get("level") == "SEVERE"]


def wait_for(driver, script: str, timeout: float = 30.0):
    """The value of ``script`` (JavaScript returning something) once it is truthy."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script))


def screenshot(driver, path: str, full_page: bool = True, palette: bool = False) -> str:
    """Save a PNG of the page (the whole page height when ``full_page``) to ``path``;
    ``palette``: re-save it with 128 colours (a third of the size, for committed docs images)."""
    if full_page:
        height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
        width = driver.execute_script("return Math.ceil(document.documentElement.scrollWidth)")
        driver.set_window_size(max(width, 1280), min(max(height, 600), 16000))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    driver.save_screenshot(path)
    if palette:
        from PIL import Image

        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    return path


def resources(driver) -> list[str]:
    """URLs of every resource the page requested after its own document."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
