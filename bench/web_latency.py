"""Latency from a painted stroke to the new matte in the browser page of ``vecmatte serve``.

Starts ``python -m vecmatte.web`` (the server of ``vecmatte serve``) in a child process,
opens the page in headless Chromium (Debian's ``chromium``, driven by Playwright), loads an
alphamatting.com photograph (0.4 MP) with its trimap, paints foreground strokes over unknown
pixels that the ground truth calls opaque, and reads four times the page records for each
stroke: stroke end -> matte shown (including the page's 250 ms debounce), request sent ->
matte shown (trimap PNG encoding, upload, solve, PNG decoding, drawing), the server's own
time (decode + solve + PNG encoding) and the solve alone (``estimate_alpha``). Writes
``bench/results/web.md``::

    python bench/web_latency.py                 # GT01, GT02, GT04; 8 strokes each
    python bench/web_latency.py --images GT01 --strokes 3 --output /tmp/web.md

The photographs are read from ../shared/data/alphamatting-lowres (or $VECMATTE_DATA); they are
never copied into the repository.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import provenance
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(
    os.environ.get("VECMATTE_DATA", ROOT.parent / "shared" / "data" / "alphamatting-lowres")
)


def start_server(cpu: int | None) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "vecmatte.web", "--port", "0", "--quiet", "--workers", "1"]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, int(line.rsplit(":", 1)[1].split("/")[0])


def stroke_points(name: str, count: int, seed: int) -> list[tuple[int, int]]:
    """Unknown pixels of the trimap that the ground truth calls opaque, well apart."""
    trimap = np.asarray(Image.open(DATA / "trimap" / f"{name}.png").convert("L"))
    alpha = np.asarray(Image.open(DATA / "alpha" / f"{name}.png").convert("L"))
    rows, cols = np.nonzero((trimap > 25) & (trimap < 230) & (alpha > 242))
    order = np.random.default_rng(seed).permutation(len(rows))[:count]
    return [(int(rows[k]), int(cols[k])) for k in order]


def wait_for_matte(page, after: int) -> int:
    page.wait_for_function(
        "([after]) => Number(document.body.dataset.edits) > after && "
        "document.body.dataset.matte === document.body.dataset.edits",
        arg=[after],
        timeout=120_000,
    )
    return int(page.evaluate("document.body.dataset.edits"))


def measure(page, url: str, name: str, strokes: int, seed: int) -> list[dict]:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#photo-input", str(DATA / "image" / f"{name}.png"))
    page.wait_for_selector("body.has-photo")
    page.set_input_files("#trimap-input", str(DATA / "trimap" / f"{name}.png"))
    edits = wait_for_matte(page, 0)
    width = page.evaluate("document.getElementById('paint').width")
    page.check("#tool-fg")
    page.fill("#brush", "6")
    records = []
    for row, col in stroke_points(name, strokes, seed):
        box = page.locator("#paint").bounding_box()
        scale = box["width"] / width
        y = box["y"] + (row + 0.5) * scale
        page.mouse.move(box["x"] + (col - 5 + 0.5) * scale, y)
        page.mouse.down()
        page.mouse.move(box["x"] + (col + 5 + 0.5) * scale, y, steps=4)
        page.mouse.up()
        edits = wait_for_matte(page, edits)
        data = page.evaluate("({...document.body.dataset})")
        records.append(
            {
                "stroke_ms": float(data["strokeToMatteMs"]),
                "request_ms": float(data["requestMs"]),
                "server_ms": 1000 * float(data["serverSeconds"]),
                "solve_ms": 1000 * float(data["solveSeconds"]),
            }
        )
        time.sleep(0.2)
    return records


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="+", default=["GT01", "GT02", "GT04"])
    parser.add_argument("--strokes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--server-cpu", type=int, default=1, help="pin the server to this core (-1: no pinning)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "web.md")
    args = parser.parse_args(argv)
    if not (DATA / "image").is_dir():
        print(f"web_latency: no photographs in {DATA} (set VECMATTE_DATA)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    from vecmatte.web._chromium import chromium_path, launch_chromium

    process, port = start_server(None if args.server_cpu < 0 else args.server_cpu)
    results = {}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1800, "height": 1000})
            for name in args.images:
                results[name] = measure(
                    page, f"http://127.0.0.1:{port}/", name, args.strokes, args.seed
                )
                print(name, summary([r["stroke_ms"] for r in results[name]]), file=sys.stderr)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)

    command = "python bench/web_latency.py" + (" " + " ".join(argv) if argv else "")
    lines = [
        "## Stroke-to-matte latency of the `vecmatte serve` page",
        "",
        provenance.generated_line(command),
        "",
        f"Machine: {provenance.machine_line()}. Server: `python -m vecmatte.web --workers 1`"
        + (f" pinned to core {args.server_cpu}" if args.server_cpu >= 0 else "")
        + f"; browser: headless Chromium ({chromium_path()}) on the same machine, "
        "through 127.0.0.1.",
        "",
        f"Each photograph of alphamatting.com (low resolution) is opened in the page with its "
        f"trimap; then {args.strokes} foreground strokes (brush 6 px, 10 px long, on unknown "
        "pixels that the ground truth calls opaque) are painted one after the other, each "
        "waiting for its matte. Milliseconds, median (min-max) over the strokes; method `cf`, "
        "default options.",
        "",
        "| image | size | unknown | stroke end -> matte shown | request -> matte shown "
        "| server (decode, solve, encode) | solve |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, records in results.items():
        trimap = np.asarray(Image.open(DATA / "trimap" / f"{name}.png").convert("L"))
        unknown = ((trimap > 25) & (trimap < 230)).mean()
        h, w = trimap.shape
        lines.append(
            f"| {name} | {w} x {h} ({w * h / 1e6:.2f} MP) | {100 * unknown:.0f}% "
            f"| {summary([r['stroke_ms'] for r in records])} "
            f"| {summary([r['request_ms'] for r in records])} "
            f"| {summary([r['server_ms'] for r in records])} "
            f"| {summary([r['solve_ms'] for r in records])} |"
        )
    lines += [
        "",
        '"Stroke end -> matte shown" includes the page\'s 250 ms debounce (it waits that long '
        'after a stroke for another before asking the server); "request -> matte shown" is '
        "encoding the trimap as PNG, the upload, the server's work, decoding the alpha PNG and "
        "drawing the composite.",
    ]
    provenance.write_markdown(args.output, "\n".join(lines))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
