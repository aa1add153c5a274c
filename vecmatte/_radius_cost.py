"""What a closed-form window radius costs: an estimate of the solve's time, and its warning.

The cost of a closed-form solve grows like ``(2 radius + 1)**4`` per unknown pixel, so a
radius of 10 takes about ten minutes on a 0.13 MP photograph: the solve warns before the work.
"""

from __future__ import annotations

import warnings

from vecmatte._caller import outside_stacklevel

__all__ = ["SlowSolveWarning", "check_radius_cost", "radius_seconds"]


class SlowSolveWarning(UserWarning):
    """The options asked for would make the solve take minutes (an estimate)."""


# Seconds per unknown pixel per (2r + 1)**4 of a closed-form solve with radius r: each
# unknown's row gathers (2r + 1)**2 windows of (2r + 1)**2 x (2r + 1)**2 values. Measured with
# solve_alpha on GT04 of alphamatting.com at 282 x 400 (44,821 unknowns), on one core of this
# project's shared 2-core machine: radius 2, 3, 4, 5 gave 0.71, 0.96, 1.26, 1.35e-7 (2.0 s,
# 10.3 s, 37 s, 89 s); rounded up.
SECONDS_PER_UNKNOWN_PER_WINDOW_PAIR = 1.5e-7
#: Estimated seconds above which a solve warns with SlowSolveWarning.
SLOW_SOLVE_SECONDS = 60.0


def radius_seconds(n_unknown: int, radius: int) -> float:
    """Estimated seconds of a closed-form solve with ``n_unknown`` unknowns at ``radius``."""
    return SECONDS_PER_UNKNOWN_PER_WINDOW_PAIR * n_unknown * (2 * radius + 1) ** 4


def check_radius_cost(n_unknown: int, radius: int) -> float:
    """Warn (``SlowSolveWarning``) if ``radius`` would make the solve take minutes.

    Returns the estimate in seconds. The message gives the largest radius that stays under
    :data:`SLOW_SOLVE_SECONDS` for this many unknowns; the warning points at the first line
    outside vecmatte (:func:`vecmatte._caller.outside_stacklevel`).
    """
    seconds = radius_seconds(n_unknown, radius)
    if seconds > SLOW_SOLVE_SECONDS and n_unknown > 0:
        pairs = SLOW_SOLVE_SECONDS / (SECONDS_PER_UNKNOWN_PER_WINDOW_PAIR * n_unknown)
        fast = max(1, int((pairs**0.25 - 1) // 2))
        warnings.warn(
            f"radius={radius} with {n_unknown:,} unknown pixels will take about "
            f"{seconds / 60:.0f} minutes (the cost grows like (2 radius + 1)**4); radius <= "
            f"{fast} takes under a minute, or downscale the image or narrow its unknown band",
            SlowSolveWarning,
            stacklevel=outside_stacklevel(),
        )
    return seconds
