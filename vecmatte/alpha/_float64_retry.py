"""The float64 retry of a 'direct' solve whose float32 factor broke down: does it fit?"""

from __future__ import annotations

__all__ = ["check_float64_factor_fits"]


def check_float64_factor_fits(options: dict, system) -> None:
    """Refuse the float64 'direct' factor after a float32 breakdown if it would not fit.

    The float32 factor is freed by then and the system is held: the float64 factor needs
    twice the float32 one's room (:func:`vecmatte.memory.direct_factor_bytes`, the bound of
    the memory models). If less is left, :class:`vecmatte.memory.InsufficientMemoryError`
    rather than the matte of a breakdown.
    """
    from vecmatte.memory import (
        SAFETY,
        InsufficientMemoryError,
        available_memory,
        direct_factor_bytes,
        size_text,
    )

    rows = system.matrix.shape[0]
    needed = SAFETY * direct_factor_bytes(
        rows,
        reach=system.reach,
        entries=system.matrix.nnz / max(rows, 1),
        shape=system.shape,
        factor=options.get("factor", "auto"),
        single_precision=False,
    )
    available = available_memory()
    if available is not None and needed > available:
        raise InsufficientMemoryError(
            "conjugate gradient broke down with the float32 'direct' factor (the system is "
            f"conditioned beyond float32), and its float64 factor needs about "
            f"{size_text(needed)} of memory but only {size_text(available)} is available; free "
            "memory, or choose options that condition the system better (a larger eps)"
        )
