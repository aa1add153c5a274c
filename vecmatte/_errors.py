"""An error said in one line, as ``vecmatte`` prints it and a batch records it.

A leaf module (standard library only), so that the command line can import it to report an
error without importing the batch machinery, and the batch without the command line.
"""

from __future__ import annotations

__all__ = ["error_line"]


def error_line(error: BaseException) -> str:
    """An error in one line; a system error names its file first.

    ``str()`` of an OSError raised by the system reads ``[Errno 28] No space left on device:
    'out/a_alpha.png'`` (or ``[Errno 13] Permission denied: 'photos'``); this says
    ``out/a_alpha.png: no space left on device``, as vecmatte's own messages name the file
    first. Used for a failed image's record and by ``vecmatte``'s error line.

    Parameters
    ----------
    error : BaseException
        The error to say.

    Returns
    -------
    str
        One line, never empty (the error's class name when it has no message).

    Examples
    --------
    >>> error_line(FileNotFoundError(2, "No such file or directory", "photo.png"))
    'photo.png: no such file or directory'
    """
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        names = [error.filename] + ([error.filename2] if error.filename2 is not None else [])
        message = f"{', '.join(map(str, names))}: {error.strerror[0].lower()}{error.strerror[1:]}"
    else:
        message = str(error)
    return " ".join(message.split()) or type(error).__name__
