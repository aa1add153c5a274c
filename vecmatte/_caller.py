"""Where a warning should point: the user's line, the first frame outside vecmatte."""

from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["outside_stacklevel"]

# Frames skipped on the way out: vecmatte's own, and contextlib's (a warning said after the
# ``yield`` of a @contextmanager runs in contextlib's __exit__, called by our code).
_PACKAGE = os.path.dirname(__file__) + os.sep
_CONTEXTLIB = contextlib.__file__


def outside_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` point at the first frame outside vecmatte.

    Call it in the function that warns, as ``warnings.warn(..., stacklevel=outside_stacklevel())``.
    A fixed stacklevel is right for one call depth only: ``load_trimap`` reaches the readers one
    frame deeper than ``load_image``, and the command line several more. (Python 3.12's
    ``skip_file_prefixes`` does this; vecmatte supports 3.10 and 3.11.) When every frame is
    vecmatte's (``python -m vecmatte.cli``), the outermost one is pointed at.
    """
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame.f_back is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE) or frame.f_code.co_filename == _CONTEXTLIB
    ):
        frame = frame.f_back
        level += 1
    return level
