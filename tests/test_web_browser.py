"""The painting page in a real browser: headless Chromium driven by Playwright.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) and the
``playwright`` Python package (in the test extra); Playwright's own browser download is never
used. Outside CI the test is skipped when either is missing; in CI (``CI`` set) it fails.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vecmatte
from vecmatte.alpha import METHODS
from vecmatte.web import create_app, make_server
from vecmatte.web._chromium import chromium_path, launch_chromium

CHROMIUM = chromium_path()


def _browser_or_skip():
    reasons = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        reasons.append("the playwright package is not installed (pip install -e '.[test]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        reasons.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if reasons:
        message = "; ".join(reasons)
        if os.environ.get("CI"):
            pytest.fail(f"the browser test cannot run in CI: {message}")
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def server_url():
    server = make_server(create_app(workers=1), "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _wait_for_matte(page, after: int) -> int:
    """Wait until the page shows the matte of its latest trimap, edited after ``after``."""
    page.wait_for_function(
        "([after]) => Number(document.body.dataset.edits) > after && "
        "document.body.dataset.matte === document.body.dataset.edits && "
        "document.getElementById('status').dataset.state === 'idle'",
        arg=[after],
        timeout=30_000,
    )
    return int(page.evaluate("document.body.dataset.edits"))


def _download(page, button: str, path: Path) -> Path:
    with page.expect_download(timeout=30_000) as info:
        page.click(button)
    info.value.save_as(path)
    return path


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    """The page, loaded; fails the test on any JavaScript error."""
    page = browser.new_page(accept_downloads=True, viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    page.close()
    assert errors == []


def _canvas_pixels(page, selector: str) -> np.ndarray:
    """The RGBA pixels of a canvas of the page, as an (h, w, 4) uint8 array."""
    width, height, data = page.evaluate(
        """(selector) => {
            const canvas = document.querySelector(selector);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            return [canvas.width, canvas.height, Array.from(pixels.data)];
        }""",
        selector,
    )
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)


def _stroke(page, width: int, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through ``points`` (row, column in image pixels) on the painting canvas."""
    box = page.locator("#paint").bounding_box()
    scale = box["width"] / width

    def screen(row, col):
        return box["x"] + (col + 0.5) * scale, box["y"] + (row + 0.5) * scale

    page.mouse.move(*screen(*points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*screen(*point), steps=5)
    page.mouse.up()


def test_paint_a_stroke_and_download_the_alpha(page, tmp_path):
    scene = vecmatte.make_scene((90, 120), seed=3)
    photo, trimap_file = tmp_path / "photo.png", tmp_path / "trimap.png"
    vecmatte.save_image(photo, scene.image)
    vecmatte.save_image(trimap_file, scene.trimap)
    original = vecmatte.load_trimap(trimap_file)
    # A foreground stroke across the unknown band, in image pixel coordinates.
    rows, cols = np.nonzero((original > 0.1) & (original < 0.9))
    row, col = int(rows[len(rows) // 2]), int(cols[len(cols) // 2])
    assert page.locator("#method option").count() == len(METHODS)

    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(trimap_file))
    edits = _wait_for_matte(page, 0)
    page.check("#tool-fg")
    page.fill("#brush", "5")
    _stroke(page, 120, [(row, col - 4), (row, col + 4)])
    _wait_for_matte(page, edits)
    alpha_file = _download(page, "#download-alpha", tmp_path / "alpha.png")
    painted_file = _download(page, "#download-trimap", tmp_path / "painted.png")
    cutout_file = _download(page, "#download-cutout", tmp_path / "cutout.png")
    # The views: alpha as gray, and the photograph over a colour where alpha is 0.
    page.select_option("#view", "alpha")
    shown_alpha = _canvas_pixels(page, "#result")[:, :, 0]
    page.fill("#bg-colour", "#102030")
    page.select_option("#view", "colour")
    shown_on_colour = _canvas_pixels(page, "#result")[:, :, :3]

    painted = vecmatte.load_trimap(painted_file)
    changed = painted != original
    # The stroke made some unknown pixels around (row, col) foreground, and nothing else.
    assert changed.any()
    assert np.all(painted[changed] == 1.0)
    changed_rows, changed_cols = np.nonzero(changed)
    assert np.abs(changed_rows - row).max() <= 3 and np.abs(changed_cols - col).max() <= 7

    expected = vecmatte.estimate_alpha(vecmatte.load_image(photo), painted)
    with Image.open(alpha_file) as image:
        downloaded = np.asarray(image)
    assert downloaded.shape == expected.shape
    np.testing.assert_array_equal(downloaded, np.round(expected * 255).astype(np.uint8))
    np.testing.assert_array_equal(shown_alpha, downloaded)
    np.testing.assert_array_equal(
        shown_on_colour[downloaded == 0], [[16, 32, 48]] * np.sum(downloaded == 0)
    )
    with Image.open(cutout_file) as cutout:
        assert cutout.mode == "RGBA" and cutout.size == (120, 90)
        np.testing.assert_array_equal(np.asarray(cutout)[:, :, 3], downloaded)


def _drop_file(page, selector: str, path: Path) -> None:
    """Drop ``path`` on ``selector`` as a person dragging it from a file manager would."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            return transfer;
        }""",
        [data, path.name],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_drop_a_photo_start_from_a_mask_then_from_scribbles(page, tmp_path):
    scene = vecmatte.make_scene((80, 100), seed=5)
    photo, mask_file = tmp_path / "photo.png", tmp_path / "mask.png"
    vecmatte.save_image(photo, scene.image)
    vecmatte.save_image(mask_file, (scene.alpha > 0.5).astype(float))

    _drop_file(page, "#drop-zone", photo)
    page.wait_for_selector("body.has-photo")
    # From a mask: the page asks the server for the trimap with the band it is given.
    page.fill("#band", "4")
    page.set_input_files("#mask-input", str(mask_file))
    edits = _wait_for_matte(page, 0)
    from_mask = vecmatte.load_trimap(_download(page, "#download-trimap", tmp_path / "t1.png"))
    expected = vecmatte.trimap_from_mask(vecmatte.load_trimap(mask_file), band=4)
    np.testing.assert_array_equal(from_mask, np.round(expected * 255) / 255)

    # From nothing: every pixel unknown, then one scribble of each kind, one of them undone.
    page.click("#clear")
    page.check("#tool-fg")
    page.fill("#brush", "3")
    rows, cols = np.nonzero(scene.alpha > 0.99)
    centre = (int(rows.mean()), int(cols.mean()))
    _stroke(page, 100, [(centre[0], centre[1] - 3), (centre[0], centre[1] + 3)])
    page.check("#tool-bg")
    _stroke(page, 100, [(2, 10), (2, 40), (40, 2)])
    _stroke(page, 100, [(77, 60), (77, 97)])
    page.keyboard.press("Control+z")  # takes the last background stroke back
    edits = _wait_for_matte(page, edits)
    scribbled = vecmatte.load_trimap(_download(page, "#download-trimap", tmp_path / "t2.png"))
    assert set(np.unique(scribbled)) == {0.0, 128 / 255, 1.0}
    assert np.all(scribbled[70:, 60:] == 128 / 255)  # undone
    assert scribbled[centre] == 1.0 and scribbled[2, 20] == 0.0
    alpha_file = _download(page, "#download-alpha", tmp_path / "alpha.png")
    with Image.open(alpha_file) as image:
        downloaded = np.asarray(image)
    expected_alpha = vecmatte.estimate_alpha(vecmatte.load_image(photo), scribbled)
    np.testing.assert_array_equal(downloaded, np.round(expected_alpha * 255).astype(np.uint8))


def test_a_warning_of_the_library_is_shown_in_the_status_line(page, tmp_path):
    # The library's warnings went to the server's log only; the page said "matte by cf".
    scene = vecmatte.make_scene((60, 80), seed=4)
    photo, trimap_file = tmp_path / "photo.png", tmp_path / "trimap.png"
    vecmatte.save_image(photo, scene.image)
    vecmatte.save_image(trimap_file, (scene.alpha > 0.5).astype(float))  # nothing unknown
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(trimap_file))
    _wait_for_matte(page, 0)
    status = page.locator("#status")
    assert "warning: trimap has no unknown pixels" in status.text_content()
    assert "warning" in status.get_attribute("class")


def test_a_request_the_server_never_answers_is_said_in_the_status_line(page, tmp_path):
    # Making a trimap from a mask and downloading a cutout fetched without a catch: with the
    # server gone (stopped, a dropped network) the status line said "making a trimap from the
    # mask…" or "estimating the foreground colours…" for ever, and the page threw.
    scene = vecmatte.make_scene((60, 80), seed=6)
    photo, trimap_file, mask_file = (tmp_path / f"{n}.png" for n in ("photo", "trimap", "mask"))
    vecmatte.save_image(photo, scene.image)
    vecmatte.save_image(trimap_file, scene.trimap)
    vecmatte.save_image(mask_file, (scene.alpha > 0.5).astype(float))
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(trimap_file))
    _wait_for_matte(page, 0)
    page.route("**/api/cutout", lambda route: route.abort())
    page.route("**/api/trimap", lambda route: route.abort())
    status = page.locator("#status")
    for act, prefix in [
        (lambda: page.click("#download-cutout"), "cutout.png: the server did not answer"),
        (
            lambda: page.set_input_files("#mask-input", str(mask_file)),
            "mask: the server did not answer",
        ),
    ]:
        act()
        page.wait_for_function(
            "(prefix) => document.getElementById('status').textContent.startsWith(prefix)",
            arg=prefix,
            timeout=30_000,
        )
        assert status.get_attribute("data-state") == "error"
