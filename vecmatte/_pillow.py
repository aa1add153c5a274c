"""Opening files with Pillow while vecmatte's own decompression-bomb check replaces Pillow's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["without_pillow_limit"]

# Pillow's decompression-bomb limit is a module global; we swap it for our own check while a
# file is opened, under a lock so that threads do not see each other's value.
_PILLOW_LIMIT_LOCK = threading.Lock()


@contextmanager
def without_pillow_limit() -> Iterator[int | None]:
    """Pillow's own decompression-bomb check off (ours runs instead); yields Pillow's limit."""
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield saved
        finally:
            Image.MAX_IMAGE_PIXELS = saved
