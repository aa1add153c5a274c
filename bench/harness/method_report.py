"""What the two method tables share (``bench/method_table.py``, ``results/methods.md``).

``harness.method_rows`` renders ``--timing child`` and ``harness.interleave_report``
``--timing same-process``; their rows differ in where the numbers come from, but the targets,
the verdict, the error columns and the section around the tables are the same and live here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

import provenance

from harness.data import scale_label
from harness.methods import Method
from harness.ratios import table

# The columns every row starts with (row_start, then error_columns).
COMMON_COLUMNS = ["method", "against", "scale", "trimap", "images", "SAD", "SAD peer"]
COMMON_COLUMNS += ["SAD ratio", "MSE", "MSE peer"]

# Issue 13's targets against PyMatting (SAD ratio, time ratio, memory ratio), issue 15's for
# information flow against closed-form; shared matting samples randomly, hence its looser SAD.
TARGETS = {"sm": (1.05, 0.5, 0.5), "ifm": (0.85, 3.0, None)}
DEFAULT_TARGET = (1.01, 0.5, 0.5)


def row_start(ours: Method, peer: Method, scale: float, trimap_set: str, images: int) -> list[str]:
    """The columns every row starts with: method, against, scale, trimap, images."""
    return [ours.name, peer.label, scale_label(scale), trimap_set, str(images)]


def unmeasured_row(
    row: list[str], result: dict, ours: Method, peer: Method, blanks: int, failed: int, tried: bool
) -> list[str]:
    """A row with no image where both methods succeeded: why not, in the last column."""
    why = result["unavailable"].get(peer.key) or result["unavailable"].get(ours.key)
    return [*row, *["-"] * blanks, why or (f"{failed} failed" if tried else "not measured")]


def error_columns(sad: list[float], mse: list[float]) -> list[str]:
    """SAD, SAD peer, SAD ratio, MSE, MSE peer, from ``[ours, peer]`` means."""
    return [
        f"{sad[0]:.3f}",
        f"{sad[1]:.3f}",
        f"{sad[0] / sad[1]:.3f}",
        f"{mse[0]:.5f}",
        f"{mse[1]:.5f}",
    ]


def verdict(
    name: str,
    sad: list[float],
    mse: list[float],
    time_ratio: float | None,
    memory_ratio: float | None,
    failed: int,
) -> str:
    """The *targets met* column: each of the method's targets, yes or no."""
    sad_target, time_target, memory_target = TARGETS.get(name, DEFAULT_TARGET)
    checks = [
        ("SAD", sad[0] / sad[1], sad_target),
        ("time", time_ratio, time_target),
        ("memory", memory_ratio, memory_target),
    ]
    text = ", ".join(
        f"{what} {'yes' if value is not None and value <= target else 'no'}"
        for what, value, target in checks
        if target is not None
    )
    if name == "ifm":
        text += f", MSE {'yes' if mse[0] < mse[1] else 'no'}"
    if failed:
        text += f"; {failed} failed"
    return text


def section(
    title: str,
    result: dict,
    options,
    argv: list[str],
    *,
    during: str,
    bullets: list[str],
    pair_row: Callable[[Method, Method, str, dict, object], list[str]],
    columns: list[str],
    reused: str,
    per_image: list[str],
) -> str:
    """The section's markdown: provenance, ``bullets`` on how it was measured, the tables.

    ``during`` is the load while it ran (may be empty); ``pair_row(ours, peer, trimap_set,
    result, options)`` makes a row of the summary, whose ``columns`` follow
    ``COMMON_COLUMNS``; ``reused`` names what the cache gave (``"Cells"``, ``"Results"``).
    """
    rows = [
        pair_row(ours, peer, trimap_set, result, options)
        for ours, peer in result["pairs"]
        for trimap_set in options.trimap
    ]
    command = " ".join(shlex.quote(a) for a in ["python", "bench/method_table.py", *argv])
    names = [ours.name for ours, _ in result["pairs"]]
    registered = ", ".join(names)
    if getattr(options, "methods", None):
        # A run of some methods only (a re-measurement) is merged into RESULTS.md beside the
        # full table: its heading names them ("..., both in one process: lbdm and lkm").
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        title = f"{title}: {listed}"
    lines = [
        title,
        "",
        provenance.generated_line(command),
        "",
        f"- Machine: {provenance.machine_line(('numpy', 'scipy', 'pymatting', 'numba'))}.",
        f"- Load: {result['load_at_start']} at the start (1, 5, 15 min)"
        + (f"; {during}." if during else "."),
        f"- vecmatte's code measured: {result['code']}; methods in its registry at run time: "
        f"{registered}.",
        *bullets,
        *([f"- {options.note}"] if options.note else []),
        *(
            [
                f"- {reused} reused from `{options.cache}`: {result['reused']} (measured now: "
                f"{result['measured']})."
            ]
            if result["reused"]
            else []
        ),
        "",
        *table(COMMON_COLUMNS + columns, rows),
        "",
        "### Per image",
        "",
        *per_image,
    ]
    return "\n".join(lines) + "\n"
