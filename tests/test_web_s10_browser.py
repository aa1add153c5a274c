"""The painting page in headless Chromium (session 10): what loading it asks of the server."""

from __future__ import annotations

from test_web_browser import browser, server_url  # noqa: F401 (fixtures)


def test_loading_the_page_asks_for_nothing_the_server_lacks(browser, server_url):  # noqa: F811
    # Chromium asked for /favicon.ico, which the server does not have: a 404 in the page's
    # console and a line in the server's log on every first visit.
    page = browser.new_page()
    failed: list[str] = []
    page.on("response", lambda answer: answer.status >= 400 and failed.append(answer.url))
    page.on("console", lambda message: message.type == "error" and failed.append(message.text))
    try:
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_timeout(500)  # the icon is asked for after the page's load
    finally:
        page.close()
    assert failed == []


def test_a_click_paints_the_pixel_under_the_pointer(browser, server_url, tmp_path):  # noqa: F811
    # The pointer was mapped through the canvas's box with its 1 px border: a click on
    # pixel (0, 0) painted (1, 1), and on a photograph scaled down to fit, a screen pixel's
    # worth of image pixels off (14 on an 8000 x 100 panorama).
    import numpy as np

    import vecmatte

    photo = tmp_path / "photo.png"
    vecmatte.save_image(photo, vecmatte.make_scene((60, 80), seed=2).image)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#photo-input", str(photo))
        page.wait_for_selector("body.has-photo")
        page.check("#tool-fg")
        page.fill("#brush", "1")  # a radius of half a pixel: the pixel under the pointer
        box = page.locator("#paint").bounding_box()
        border = page.evaluate("document.getElementById('paint').clientLeft")
        scale = (box["width"] - 2 * border) / 80
        for row, col in [(0, 0), (59, 79), (30, 40), (0, 79)]:
            x = box["x"] + border + (col + 0.5) * scale
            y = box["y"] + border + (row + 0.5) * scale
            page.mouse.click(x, y)
        painted = np.array(page.evaluate("Array.from(state.trimap)")).reshape(60, 80)
    finally:
        page.close()
    rows, cols = np.nonzero(painted == 255)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [
        (0, 0),
        (0, 79),
        (30, 40),
        (59, 79),
    ]


def test_a_dropped_file_the_browser_cannot_read_is_said(browser, server_url):  # noqa: F811
    # A dropped file without an image type was ignored: nothing happened, nothing was said.
    page = browser.new_page()
    try:
        page.goto(server_url)
        page.wait_for_selector("body[data-ready=true]")
        transfer = page.evaluate_handle(
            """() => {
                const transfer = new DataTransfer();
                transfer.items.add(new File(["not a picture"], "notes.txt", { type: "" }));
                return transfer;
            }"""
        )
        page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
        page.wait_for_function(
            "() => document.getElementById('status').dataset.state === 'error'", timeout=10_000
        )
        status = page.locator("#status").text_content()
    finally:
        page.close()
    assert status == "notes.txt: the browser cannot read this image"
