"""The painting page's messages (session 12 audit), in headless Chromium as test_web_browser."""

from __future__ import annotations

from test_web_browser import browser, page, server_url  # noqa: F401  (fixtures)

import vecmatte


def _status_becomes(page, text: str) -> str:  # noqa: F811  (the fixture's name)
    page.wait_for_function(
        "(text) => document.getElementById('status').textContent.includes(text)",
        arg=text,
        timeout=30_000,
    )
    return page.locator("#status").text_content()


def test_a_trimap_of_another_size_keeps_its_error(page, tmp_path):  # noqa: F811
    # Opened within the debounce of its photograph (a quick user, a script), the wrong size
    # was said, then replaced at once by the photograph's "paint some foreground ...".
    photo, trimap = tmp_path / "photo.png", tmp_path / "small.png"
    vecmatte.save_image(photo, vecmatte.make_scene((90, 120), seed=3).image)
    vecmatte.save_image(trimap, vecmatte.make_scene((60, 80), seed=3).trimap)
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(trimap))
    said = _status_becomes(page, "must be the same size")
    page.wait_for_timeout(600)  # past the debounce (250 ms)
    assert page.locator("#status").text_content() == said
    times = "\u00d7"  # as the page writes sizes
    assert said == (
        f"the trimap is 80 {times} 60 but the photograph is 120 {times} 90; they must be the "
        "same size"
    )
    assert page.locator("#status").get_attribute("data-state") == "error"


def test_a_server_that_stopped_is_said_with_what_to_do(page, tmp_path):  # noqa: F811
    # The status line said only "the server did not answer: TypeError: Failed to fetch".
    scene = vecmatte.make_scene((60, 80), seed=6)
    photo, trimap = tmp_path / "photo.png", tmp_path / "trimap.png"
    vecmatte.save_image(photo, scene.image)
    vecmatte.save_image(trimap, scene.trimap)
    page.route("**/api/alpha", lambda route: route.abort())
    page.set_input_files("#photo-input", str(photo))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(trimap))
    said = _status_becomes(page, "the server did not answer")
    assert "is vecmatte serve still running?" in said and "\n" not in said
