"""Headless Chromium for driving the painting page: the one place its path and flags live.

Used by the browser test (``tests/test_web_browser.py``) and the latency benchmark
(``bench/web_latency.py``); the library itself never starts a browser. Debian's ``chromium``
is used (``.ci/run`` installs it at :data:`DEFAULT_CHROMIUM`), never Playwright's download.
"""

from __future__ import annotations

import os

__all__ = ["CHROMIUM_FLAGS", "DEFAULT_CHROMIUM", "chromium_path", "launch_chromium"]

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# What works for a root user on a machine without a display, GPU or network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
)


def chromium_path() -> str:
    """The Chromium executable: ``$VECMATTE_CHROMIUM``, else :data:`DEFAULT_CHROMIUM`."""
    return os.environ.get("VECMATTE_CHROMIUM", DEFAULT_CHROMIUM)


def launch_chromium(playwright):
    """A headless Chromium browser from a started ``sync_playwright()`` context."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_FLAGS))
