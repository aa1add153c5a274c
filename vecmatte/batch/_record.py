"""How a matte was made, recorded in its PNG file, so that a resumed batch can check it.

The record is a small JSON text chunk (key :data:`RECORD_KEY`) of every PNG a batch (and
``vecmatte alpha``) writes: the vecmatte version, the method with all its options (the
defaults filled in), the preconditioner, ``rtol``, ``maxiter``, the mask's ``band``, the
foreground method (cutouts and foregrounds only) and, in a batch's outputs, the SHA-256 of
the image file and of the trimap (or mask) file they were made from. ``--resume`` keeps an
output only when its record matches the run's (the version aside) and its inputs' files
still have those digests; readers of images never look at it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = [
    "RECORD_KEY",
    "file_digest",
    "parse_record",
    "read_record",
    "record_text",
    "same_solve",
    "solve_record",
]

#: The PNG text key of the record.
RECORD_KEY = "vecmatte"


def _jsonable(value) -> Any:
    """A value JSON cannot hold, as one it can: NumPy values as lists, others by repr.

    A repr (an object's address) never matches another run's: such an output is redone.
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def _normal(record: dict) -> dict:
    """``record`` as JSON reads it back (tuples as lists), without the version and inputs."""
    plain = json.loads(json.dumps(record, sort_keys=True, default=_jsonable))
    plain.pop("version", None)
    plain.pop("inputs", None)
    return plain


def file_digest(path) -> str | None:
    """``"sha256:<hex>"`` of the bytes of the file ``path``; None if it cannot be read.

    The file's bytes, not its decoded pixels: hashing needs no decoding (a small fraction of
    a solve's time, for every image at each resume), does not depend on the decoder's
    version (a newer libjpeg would otherwise make every JPEG "changed"), and whatever
    changes what the solve reads (the pixels, an EXIF orientation) changes the bytes. A
    file saved again with the same pixels counts as changed: the safe side. Touching a file
    (a new modification time, the same bytes) changes nothing.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    except OSError:  # missing, a folder, unreadable: the solve says why, with its own message
        return None
    return f"sha256:{digest.hexdigest()}"


def solve_record(
    solver_options: dict, *, band: int | None = None, foreground: str | None = None
) -> dict:
    """The record of a solve with ``solver_options``, every default resolved.

    Parameters
    ----------
    solver_options : dict
        Keywords of :func:`vecmatte.solve_alpha` (``method``, ``preconditioner``, ``rtol``,
        ``maxiter`` and the method's own options); unset ones are its defaults.
    band : int, optional
        The unknown band of a trimap made from a mask (None: a trimap was given).
    foreground : str, optional
        The foreground method (:data:`vecmatte.foreground.FOREGROUND_METHODS`) of an
        output made from estimated foreground colours (a cutout, a foreground); left out
        of the record when None (an alpha matte).

    Returns
    -------
    dict
        ``version``, ``method``, ``options`` (all the method's options), ``preconditioner``
        (name and options), ``rtol``, ``maxiter`` (these three None for a method that solves
        no linear system), ``band`` and, if given, ``foreground``. Running ``--method cf``
        or leaving it out, ``--eps 1e-7`` or leaving it out, give the same record.
    """
    from vecmatte import __version__, _defaults
    from vecmatte.alpha import SOLVE_KEYWORDS, get_method
    from vecmatte.alpha._pipeline import default_rtol
    from vecmatte.preconditioners import resolve_preconditioner

    method = solver_options.get("method") or _defaults.METHOD
    spec = get_method(method)
    options = spec.option_defaults()
    options.update((k, v) for k, v in solver_options.items() if k not in SOLVE_KEYWORDS)
    preconditioner = rtol = maxiter = None
    if spec.preconditioner is not None:
        name, preconditioner_options = resolve_preconditioner(
            solver_options.get("preconditioner"), default=spec.preconditioner
        )
        preconditioner = {"name": name, "options": preconditioner_options}
        rtol = solver_options.get("rtol")
        rtol = default_rtol(name) if rtol is None else rtol
        maxiter = solver_options.get("maxiter")
    record = {
        "version": __version__,
        "method": method,
        "options": options,
        "preconditioner": preconditioner,
        "rtol": rtol,
        "maxiter": maxiter,
        "band": band,
    }
    if foreground is not None:
        record["foreground"] = foreground
    return record


def record_text(record: dict) -> dict[str, str]:
    """The PNG text chunks that hold ``record`` (for :func:`vecmatte.io.save_images`)."""
    return {RECORD_KEY: json.dumps(record, sort_keys=True, default=_jsonable)}


def read_record(path) -> dict | None:
    """The record of the PNG file ``path``; None if it has none (or not one that reads)."""
    from vecmatte.io import png_text

    return parse_record(png_text(path, RECORD_KEY))


def parse_record(text: str | None) -> dict | None:
    """The record in the text chunk ``text``; None if there is none that reads."""
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def same_solve(recorded: dict, wanted: dict) -> bool:
    """Whether two records describe the same solve (the version and the inputs aside)."""
    return _normal(recorded) == _normal(wanted)
