"""Type aliases of the public signatures, for type checkers (the package ships ``py.typed``).

The modules import them under ``typing.TYPE_CHECKING`` only: nothing loads this at run time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any, TypeAlias

from numpy.typing import ArrayLike
from PIL import Image

#: An image, a trimap, an alpha matte or a mask: an array (float in [0, 1], uint8 or uint16),
#: nested sequences of numbers, or a PIL image.
ImageLike: TypeAlias = ArrayLike | Image.Image
#: A file name, a path, or a binary file object.
PathOrFile: TypeAlias = str | os.PathLike[str] | IO[bytes]
#: A folder's name or path.
Folder: TypeAlias = str | os.PathLike[str]
#: A preconditioner: a name of vecmatte.PRECONDITIONERS (options as "name:key=value"), a name
#: with its options, or None for the method's own.
PreconditionerLike: TypeAlias = str | tuple[str, Mapping[str, Any]] | None
