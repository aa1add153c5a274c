"""Ratios of vecmatte to a peer over cells, and the short summaries built from them."""

from __future__ import annotations

import statistics

from harness.cells import Cell, ColdRecord
from harness.data import scale_label


def ratio_values(cells: list[Cell], ours: str, peer: str, attribute: str, options):
    """Per-image ratios ours/peer; a failed peer gives an upper bound (``bound=True``)."""
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    values = []
    for cell in cells:
        if cell.method != ours or cell.status != "ok":
            continue
        other = index.get((cell.image, cell.trimap, cell.scale, peer))
        if other is None:
            continue
        mine = cell.warm if attribute == "time" else cell.peak_mb
        if other.status == "ok":
            theirs = other.warm if attribute == "time" else other.peak_mb
            if theirs:
                values.append((mine / theirs, False))
        elif other.status == "time" and attribute == "time":
            values.append((mine / options.time_limit, True))
        elif other.status == "memory" and attribute == "time" and other.failed_after:
            # it had not finished when it ran out of memory: its time is longer than that
            values.append((mine / other.failed_after, True))
        elif other.status == "memory" and attribute == "memory":
            values.append((mine / (options.memory_cap * 1024), True))
    return values


def median_ratio(values) -> float | None:
    return statistics.median(v for v, _ in values) if values else None


def fmt_ratio(values) -> str:
    if not values:
        return "-"
    median = statistics.median(v for v, _ in values)
    bound = any(b for _, b in values)
    worst = max(v for v, _ in values)
    text = f"{'< ' if bound else ''}{median:.3g}"
    return f"{text} (max {worst:.3g}, n={len(values)})"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def accuracy_lines(cells: list[Cell], default: str, label: dict) -> list[str]:
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    pairs = []
    for cell in cells:
        if cell.method != default or cell.status != "ok":
            continue
        peer = index.get((cell.image, cell.trimap, cell.scale, "pymatting:cf"))
        if peer is None or peer.status != "ok":
            continue
        pairs.append((cell, peer))
    if not pairs:
        return ["No image where both vecmatte's default and PyMatting ran."]
    worse = [(c, p) for c, p in pairs if c.errors["sad"] > 1.01 * p.errors["sad"]]
    lines = [
        f"- {label[default]} SAD within 1 % of PyMatting's or better on "
        f"{len(pairs) - len(worse)} of {len(pairs)} (image, trimap, scale) cases."
    ]
    for c, p in worse:
        lines.append(
            f"  - worse on {c.image} {c.trimap} {scale_label(c.scale)}: SAD "
            f"{c.errors['sad']:.3f} vs {p.errors['sad']:.3f} "
            f"({100 * (c.errors['sad'] / p.errors['sad'] - 1):+.1f} %)"
        )
    differences = [p.to_default_sad for _, p in pairs if p.to_default_sad is not None]
    if differences:
        worst = max(pairs, key=lambda cp: cp[1].to_default_sad or 0)
        lines.append(
            f"- SAD between the two mattes: median {statistics.median(differences):.3f}, "
            f"largest {worst[1].to_default_sad:.3f} on {worst[0].image} "
            f"{worst[0].trimap} {scale_label(worst[0].scale)}."
        )
    return lines


def agreement_lines(cells: list[Cell], methods, default: str, label: dict) -> list[str]:
    """How far each method's matte is from the default's, relative to the default's own SAD."""
    index = {(c.image, c.trimap, c.scale, c.method): c for c in cells}
    lines = []
    for method in methods:
        if method.key == default:
            continue
        pairs = []
        for cell in cells:
            mine = index.get((cell.image, cell.trimap, cell.scale, default))
            if (
                cell.method == method.key
                and cell.to_default_sad is not None
                and mine is not None
                and mine.errors.get("sad")
            ):
                pairs.append((cell.to_default_sad / mine.errors["sad"], cell))
        if not pairs:
            continue
        worst_ratio, worst = max(pairs, key=lambda p: p[0])
        median = statistics.median(r for r, _ in pairs)
        lines.append(
            f"- {label[method.key]}: SAD between its matte and the default's is a median "
            f"{100 * median:.2g} % of the default's SAD to the ground truth, at most "
            f"{100 * worst_ratio:.2g} % ({worst.image} {worst.trimap} "
            f"{scale_label(worst.scale)}; n={len(pairs)})."
        )
    return lines or ["No other method ran where the default did."]


def cold_ratio_lines(cold: list[ColdRecord], default: str) -> list[str]:
    ours = [r for r in cold if r.method == default and r.seconds is not None]
    lines = [""]
    if not ours:
        return lines
    for record in cold:
        if record.method == "pymatting:cf" and record.seconds is not None:
            lines.append(
                f"- cold vecmatte/PyMatting ({record.cache} numba cache): "
                f"{ours[0].seconds / record.seconds:.3g}"
            )
    return lines
