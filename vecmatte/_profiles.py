"""Colour (ICC) profiles: an input's profile carried to the colour outputs made from it.

vecmatte reads an image's values as stored, in whatever colour space its embedded ICC
profile describes (Display P3, Adobe RGB ...), and the foreground colours and the cutout it
makes of them are in that same space. Written without the profile, every viewer took them
for sRGB and showed them paler (or otherwise off) beside the photograph. :func:`colour_profile`
reads an RGB profile from a file's header; :func:`vecmatte.io.save_images` embeds one in its
colour outputs (``icc_profile=``), never in a gray one (an alpha matte is no colour, and an
RGB profile does not describe gray values).
"""

from __future__ import annotations

import os
import stat
import warnings

from vecmatte._caller import outside_stacklevel

__all__ = [
    "PROFILE_FORMATS",
    "ColourProfileWarning",
    "check_profile",
    "colour_profile",
    "profile_keywords",
]

#: Formats whose files hold an ICC profile as Pillow (and tifffile) write them.
PROFILE_FORMATS = ("PNG", "JPEG", "MPO", "TIFF", "WEBP", "AVIF")

# An ICC profile's header: 128 bytes, the colour space of its data at 16, "acsp" at 36.
_HEADER_BYTES = 128


class ColourProfileWarning(UserWarning):
    """A colour output is written without the colour (ICC) profile of its input: its format
    holds none (BMP, GIF, PPM ...), or (a composite) the photograph and the background are in
    different colour spaces and were mixed as stored; viewers show its colours as sRGB."""


def _is_rgb_profile(data) -> bool:
    """Whether ``data`` (bytes) is an ICC profile of an RGB colour space, by its header."""
    return (
        isinstance(data, bytes)
        and len(data) >= _HEADER_BYTES
        and data[36:40] == b"acsp"
        and data[16:20] == b"RGB "
    )


def colour_profile(source) -> bytes | None:
    """The ICC colour profile embedded in an image file, if it describes RGB colours.

    Read from the file's header, without decoding its pixels. vecmatte reads values as
    stored, in the profile's colour space: give the profile to
    :func:`vecmatte.io.save_images` (``icc_profile=``) and the foreground and cutout made
    from the image are shown with the photograph's colours.

    Parameters
    ----------
    source : str, Path or seekable binary stream
        The image file (a stream is read from its start and left where it was; a named
        pipe or a device is not read again: None).

    Returns
    -------
    bytes or None
        The profile; None if the file has none, has one of gray or CMYK values (the RGB
        values vecmatte writes are not in that space), one that is damaged, or is no image
        Pillow reads.
    """
    from vecmatte._pillow import open_unchecked

    stream = hasattr(source, "read")
    if not stream and not _is_regular_file(source):
        # A named pipe's data went to the image's reader: opened again, it waited for a
        # writer for good (vecmatte alpha FIFO t.png -o m.png hung after the solve's start).
        return None
    try:
        position = source.tell() if stream else None
        try:
            with open_unchecked(source) as image:
                profile = image.info.get("icc_profile")
        finally:
            if stream:
                source.seek(position)
    except Exception:  # not a file or image we can read: the reader says why, not this
        return None
    return profile if _is_rgb_profile(profile) else None


def _is_regular_file(name) -> bool:
    """Whether ``name`` names a regular file (not a named pipe, a device, a folder)."""
    try:
        return stat.S_ISREG(os.stat(name).st_mode)
    except (OSError, TypeError, ValueError):  # nothing there, not a name, a NUL in it
        return False


def check_profile(profile) -> bytes | None:
    """``profile`` checked as ``save_image``'s ``icc_profile``: None, or an RGB ICC profile.

    A one-line TypeError or ValueError otherwise: a gray or CMYK profile would make every
    viewer misread the RGB values written, and a damaged one would be embedded as is.
    """
    if profile is None:
        return None
    if not isinstance(profile, (bytes, bytearray, memoryview)):
        raise TypeError(f"icc_profile must be bytes (an ICC profile), got {type(profile).__name__}")
    profile = bytes(profile)
    if len(profile) < _HEADER_BYTES or profile[36:40] != b"acsp":
        raise ValueError(
            "icc_profile is not an ICC profile (no 'acsp' signature in its 128-byte header)"
        )
    if profile[16:20] != b"RGB ":
        space = profile[16:20].decode("latin-1").strip()
        raise ValueError(
            f"icc_profile describes {space} values, not RGB: the colours written are RGB "
            "(vecmatte.io.colour_profile gives an image's RGB profile, or None)"
        )
    return profile


def profile_keywords(file_format: str, profile: bytes | None, label: str) -> dict:
    """Pillow ``save`` keywords that embed ``profile`` in a colour file of ``file_format``.

    None: none. A format that holds no profile gets none, with a
    :class:`ColourProfileWarning` naming the file ``label``.
    """
    if profile is None:
        return {}
    if file_format not in PROFILE_FORMATS:
        warnings.warn(
            f"{label}: {file_format} files hold no colour profile, so the colour profile of "
            "the input is not kept and viewers show these colours as sRGB; save as .png, "
            ".tif, .webp or .jpg to keep it",
            ColourProfileWarning,
            stacklevel=outside_stacklevel(),
        )
        return {}
    return {"icc_profile": profile}
