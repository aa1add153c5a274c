"""Type aliases of the public signatures (the package ships ``py.typed``).

The modules import them at run time too, so that ``typing.get_type_hints()`` resolves every
public signature (Sphinx, typeguard and IDE help call it). Importing this module costs
``numpy.typing`` alone (under 1 ms): the types of Pillow, SciPy and dask, which a call may
never need, are there forward references that import their package only when a hint naming
them is resolved. Type checkers read the plain aliases.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Annotated, Any, ForwardRef, TypeAlias

from numpy.typing import ArrayLike

# PILImage: a PIL image; Client, Cluster: dask.distributed's (an optional dependency, the extra
# vecmatte[distributed]); CsrMatrix: the sparse matrix that the Laplacians return.
if TYPE_CHECKING:
    import distributed
    import distributed.deploy
    import PIL.Image
    import scipy.sparse

    PILImage: TypeAlias = PIL.Image.Image
    Client: TypeAlias = distributed.Client
    Cluster: TypeAlias = distributed.deploy.Cluster
    CsrMatrix: TypeAlias = scipy.sparse.csr_matrix
else:

    def _on_demand(module: str, name: str) -> Any:
        """``module.name`` as a hint that imports ``module`` when it is resolved."""
        # Annotated around the reference: a bare ForwardRef takes no "|" on Python 3.10, and
        # get_type_hints() drops the note (unless include_extras=True).
        reference = ForwardRef(f"__import__('importlib').import_module({module!r}).{name}")
        return Annotated[reference, f"{module}.{name}"]

    PILImage = _on_demand("PIL.Image", "Image")
    Client = _on_demand("distributed", "Client")
    Cluster = _on_demand("distributed.deploy", "Cluster")
    CsrMatrix = _on_demand("scipy.sparse", "csr_matrix")

#: An image, a trimap, an alpha matte or a mask: an array (float in [0, 1], uint8 or uint16),
#: nested sequences of numbers, or a PIL image.
ImageLike: TypeAlias = ArrayLike | PILImage
#: A file name, a path, or a binary file object.
PathOrFile: TypeAlias = str | os.PathLike[str] | IO[bytes]
#: A folder's name or path.
Folder: TypeAlias = str | os.PathLike[str]
#: A preconditioner: a name of vecmatte.PRECONDITIONERS (options as "name:key=value"), a name
#: with its options, or None for the method's own.
PreconditionerLike: TypeAlias = str | tuple[str, Mapping[str, Any]] | None
