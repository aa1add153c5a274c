"""Markdown report of `bench/method_table.py --timing same-process` (`harness.interleave`)."""

from __future__ import annotations

import json
import statistics

from harness.data import scale_label
from harness.interleave import THREAD_VARIABLES, Timed, median_ratio_of
from harness.methods import Method


def describe_threads(timed: list[tuple[Timed, Timed]]) -> str:
    """What the same-process children reported: cores allowed, numba and OpenBLAS threads."""
    seen = {json.dumps(t[0].threads, sort_keys=True) for t in timed if t[0].threads}
    if not seen:
        return "not reported"
    parts = []
    for text in sorted(seen):
        report = json.loads(text)
        blas = ", ".join(f"{name} {n}" for name, n in report.get("blas", {}).items()) or "-"
        parts.append(
            f"{report.get('affinity')} core(s) allowed, numba {report.get('numba', '-')} "
            f"thread(s), OpenBLAS {blas}"
        )
    return "; ".join(parts)


def cores_used(timed: list[tuple[Timed, Timed]]) -> str:
    """CPU seconds over wall seconds of every call, per library: the cores each kept busy."""
    sums: dict[str, list[float]] = {}
    for pair in timed:
        for side in pair:
            total = sums.setdefault(side.method.split(":")[0], [0.0, 0.0])
            total[0] += sum(side.cpu)
            total[1] += sum(side.wall)
    return ", ".join(f"{name} {cpu / wall:.2f}" for name, (cpu, wall) in sums.items() if wall)


def scale_text(scales: dict[str, float]) -> str:
    return ", ".join(f"{key.split(':')[-1]} {scale_label(s)}" for key, s in scales.items())


# ---------------------------------------------------------------------------------------------
# The section


def _pair_row(ours: Method, peer: Method, trimap_set: str, result: dict, options) -> list[str]:
    from harness.method_report import error_columns, row_start, unmeasured_row, verdict
    from harness.ratios import fmt_ratio, median_ratio, ratio_values

    scale = result["scales"][ours.key]
    here = [
        t
        for t in result["timed"]
        if t[0].method == ours.key
        and t[1].method == peer.key
        and t[0].trimap == trimap_set
        and t[0].scale == scale
    ]
    both = [(a, b) for a, b in here if a.ok and b.ok]
    failed = sum(1 for a, _ in here if not a.ok)
    row = row_start(ours, peer, scale, trimap_set, len(both))
    if not both:
        return unmeasured_row(row, result, ours, peer, 10, failed, bool(here))
    sad = [statistics.fmean(statistics.fmean(t[side].sad) for t in both) for side in (0, 1)]
    mse = [statistics.fmean(statistics.fmean(t[side].mse) for t in both) for side in (0, 1)]
    ratios = {
        attribute: [
            r for a, b in here if (r := median_ratio_of(a, b, attribute, options.time_limit))
        ]
        for attribute in ("wall", "cpu")
    }
    cells = [c for c in result["cells"] if c.trimap == trimap_set and c.scale == scale]
    memory = ratio_values(cells, ours.key, peer.key, "memory", options)
    time_ratio = max(median_ratio(ratios["wall"]), median_ratio(ratios["cpu"]))
    return [
        *row,
        *error_columns(sad, mse),
        fmt_ratio(ratios["wall"]),
        fmt_ratio(ratios["cpu"]),
        fmt_ratio(memory),
        f"{statistics.median(statistics.median(a.wall) for a, _ in both):.3f}",
        f"{statistics.median(statistics.median(a.cpu) for a, _ in both):.3f}",
        verdict(ours.name, sad, mse, time_ratio, median_ratio(memory), failed),
    ]


def _per_image(result: dict, options) -> list[str]:
    from harness.ratios import table

    labels = {m.key: m.label for pair in result["pairs"] for m in pair}
    peaks = {(c.method, c.image, c.trimap, c.scale): c for c in result["cells"]}

    def peak(timed: Timed) -> str:
        cell = peaks.get((timed.method, timed.image, timed.trimap, timed.scale))
        return f"{cell.peak_mb:.0f}" if cell and cell.peak_mb is not None else "-"

    def numbers(timed: Timed) -> list[str]:
        if not timed.ok:
            return [f"{timed.status}: {timed.note[:60]}", "-", "-", "-"]
        return [
            f"{statistics.fmean(timed.sad):.3f}",
            f"{statistics.fmean(timed.mse):.5f}",
            f"{statistics.median(timed.wall):.3f}",
            f"{statistics.median(timed.cpu):.3f}",
        ]

    rows = []
    for ours, peer in result["timed"]:
        ratios = [median_ratio_of(ours, peer, a, options.time_limit) for a in ("wall", "cpu")]
        mine, theirs = numbers(ours), numbers(peer)
        rows.append(
            [
                ours.image,
                ours.trimap,
                scale_label(ours.scale),
                labels[ours.method],
                labels[peer.method],
                *[f"{a} / {b}" for a, b in zip(mine, theirs, strict=True)],
                f"{len(ours.wall)} / {len(peer.wall)}",
                *[f"{'< ' if r[1] else ''}{r[0]:.3g}" if r else "-" for r in ratios],
                f"{peak(ours)} / {peak(peer)}",
            ]
        )
    header = ["image", "trimap", "scale", "method", "against", "SAD", "MSE", "wall s", "CPU s"]
    header += ["calls", "wall ratio", "CPU ratio", "peak MB (own children)"]
    return table(header, rows)


def render(result: dict, options, argv: list[str]) -> str:
    """The section's markdown (``--timing same-process``)."""
    from harness.method_report import section

    columns = ["wall ratio (same process)", "CPU ratio (same process)"]
    columns += ["memory ratio (own children)", "wall s", "CPU s", "targets met"]
    loads = sorted(result["interleave_loads"])
    load_line = (
        f"1-minute load average when the same-process children ended: median "
        f"{loads[len(loads) // 2]:.2f}, from {loads[0]:.2f} to {loads[-1]:.2f}"
        if loads
        else ""
    )
    variables = " = ".join(THREAD_VARIABLES)
    bullets = [
        f"- Threads: {variables} = {options.threads} in the same-process children "
        f"(`--threads {options.threads}`); they reported {describe_threads(result['timed'])}. "
        f"CPU over wall time of all calls (cores kept busy; below 1 when other processes "
        f"share the core): {cores_used(result['timed']) or '-'}. vecmatte's knn queries its "
        "k-d tree with `workers=-1` (a thread per allowed core, whatever `--threads`): pin the "
        "invocation (`taskset -c 1`) so that both sides get one core; the CPU ratio compares "
        "the work either way. The memory children run with the invocation's environment.",
        f"- Data: `{result['dataset'].root}`, trimap sets {', '.join(options.trimap)}; "
        f"{len(options.images or result['dataset'].files)} images; scales: "
        f"{scale_text(result['scales'])}.",
        "- Timing `--timing same-process`. Columns *SAD*, *MSE*, *wall ratio*, *CPU ratio*, "
        "*wall s*, *CPU s* (and every column of the per-image table but the last, each as "
        "vecmatte / peer) come from the "
        "same-process children: one child per (image, trimap, scale) loads the inputs once, "
        "and for each pair warms both methods up on a small synthetic scene, then alternates "
        f"them for {options.rounds} rounds (A B, B A, ...), timing every call in wall "
        "(perf_counter) and CPU (process_time, all threads) seconds; per image the ratio is "
        "the median of vecmatte's calls over the median of the peer's; the column gives the "
        "median over images (max and n in brackets). *wall s*, *CPU s*: vecmatte's median. "
        "SAD (/1000) and MSE over the trimap's unknown pixels, mean over rounds, then over the "
        "images where both succeeded; *SAD ratio* is the ratio of those means.",
        "- Column *memory ratio* (and *peak MB*) comes from one child per (method, image, "
        "trimap, scale), one solve each, as in `--timing child` (peak resident memory above "
        "what the process held before the solve): peaks cannot be told apart in one process. "
        f"Every child: address space capped at {options.memory_cap:g} GB, "
        f"{options.time_limit:g} s per solve.",
        "- Targets: SAD ratio <= 1.01 (1.05 for sm), time (both the wall and the CPU median "
        "ratio) and memory ratios <= 0.5 against PyMatting (issue 13); ifm, which PyMatting "
        "lacks, against vecmatte's closed-form in the same way: SAD ratio <= 0.85, a lower "
        "MSE, time ratio <= 3 (issue 15).",
    ]
    return section(
        "## Methods against PyMatting (issues 13 and 15), both in one process",
        result,
        options,
        argv,
        during="; ".join(x for x in (load_line, result["load_during"]) if x),
        bullets=bullets,
        pair_row=_pair_row,
        columns=columns,
        reused="Results",
        per_image=_per_image(result, options),
    )
