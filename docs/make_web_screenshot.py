"""Make docs/web.png for the README: the page of ``vecmatte serve``, shot by headless Chromium.

The photograph is scikit-image's ``astronaut`` cropped to the head (as in
``docs/make_composite_figure.py``, whose rough mask it reuses) and enlarged twice; the page
opens it with that mask (a trimap is made with an 8-pixel band), a foreground stroke is
painted, and the matte is shown on scikit-image's ``coffee``. Needs Debian's ``chromium`` and
the ``playwright`` package (the test extra). Run from the repository::

    python docs/make_web_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
from skimage import data, transform

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_composite_figure import CROP, rough_mask  # noqa: E402

from vecmatte import save_image  # noqa: E402
from vecmatte.web import create_app, make_server  # noqa: E402
from vecmatte.web._chromium import launch_chromium  # noqa: E402

OUTPUT = HERE / "web.png"
SCALE = 2


def wait_for_matte(page, after: int) -> int:
    page.wait_for_function(
        "([after]) => Number(document.body.dataset.edits) > after && "
        "document.body.dataset.matte === document.body.dataset.edits",
        arg=[after],
        timeout=60_000,
    )
    return int(page.evaluate("document.body.dataset.edits"))


def main() -> None:
    from playwright.sync_api import sync_playwright

    small = data.astronaut()[CROP] / 255.0
    mask = rough_mask(small)
    image = np.clip(transform.rescale(small, SCALE, order=3, channel_axis=2), 0, 1)
    mask = np.kron(mask, np.ones((SCALE, SCALE), bool))
    server = make_server(create_app(), "127.0.0.1", 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
            folder = Path(folder)
            save_image(folder / "astronaut.png", image)
            save_image(folder / "mask.png", mask.astype(float))
            save_image(folder / "coffee.png", data.coffee() / 255.0)
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1180, "height": 760})
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            page.wait_for_selector("body[data-ready=true]")
            page.set_input_files("#photo-input", str(folder / "astronaut.png"))
            page.wait_for_selector("body.has-photo")
            page.fill("#band", "8")
            page.set_input_files("#mask-input", str(folder / "mask.png"))
            edits = wait_for_matte(page, 0)
            # One foreground stroke down the collar, as a person would paint it.
            page.check("#tool-fg")
            page.fill("#brush", "14")
            box = page.locator("#paint").bounding_box()
            scale = box["width"] / image.shape[1]
            points = [(300, 90), (330, 130), (360, 175)]
            page.mouse.move(box["x"] + points[0][1] * scale, box["y"] + points[0][0] * scale)
            page.mouse.down()
            for row, col in points[1:]:
                page.mouse.move(box["x"] + col * scale, box["y"] + row * scale, steps=8)
            page.mouse.up()
            wait_for_matte(page, edits)
            page.set_input_files("#bg-input", str(folder / "coffee.png"))
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUTPUT))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
