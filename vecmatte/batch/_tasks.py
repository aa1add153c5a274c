"""Finding a batch's tasks: a folder of images paired by name with a folder of trimaps.

:func:`find_tasks` checks everything it can before any file is read or written (the
options' ranges, the folders, names that clash, outputs that would replace an input) and
then makes one :class:`~vecmatte.batch._core.BatchTask` per image.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from vecmatte._output_guard import name_difference, name_key, one_file_on
from vecmatte._typing import Folder
from vecmatte.batch._core import (
    ALPHA_SUFFIX,
    CUTOUT_SUFFIX,
    IMAGE_EXTENSIONS,
    TASK_OPTIONS,
    BatchTask,
    check_task_bit_depth,
    no_file_kind,
)

__all__ = ["find_tasks"]


def _image_files(directory: Path, skip: set[str] = frozenset()) -> dict[str, list[Path]]:
    """Image files of ``directory`` by name (stem); hidden files and ``skip`` are ignored."""
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and path.suffix.lower() in IMAGE_EXTENSIONS
            and path.name not in skip
        ):
            by_stem.setdefault(path.stem, []).append(path)
    return by_stem


def _no_files(directory: Path) -> list[str]:
    """Entries of ``directory`` named like images that are no files, described.

    A broken link (a drive or share not mounted), a named pipe or a folder ``x.png`` is no
    image to read: left out, as before, but no longer without a word (a batch of links to
    an unmounted drive said only "no image files in this folder").
    """
    found = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if kind := no_file_kind(path):
            found.append(f"{path.name} ({kind})")
    return found


def _own_outputs(directory: Path) -> set[str]:
    """Names in ``directory`` that an earlier batch writing there made.

    ``X_alpha.png`` (or ``X_cutout.png``) next to an ``X``, written by vecmatte (its PNG
    text says so): a user's own ``X_alpha.png`` (a photograph, a ground truth) stays an
    input, and the output guard then refuses to replace it.
    """
    from vecmatte.io import written_by_vecmatte

    names = {path.name for path in directory.iterdir() if path.is_file()}
    stems = {Path(name).stem for name in names}
    return {
        name
        for name in names
        for suffix in (ALPHA_SUFFIX, CUTOUT_SUFFIX)
        if name.endswith(suffix)
        and name[: -len(suffix)] in stems
        and written_by_vecmatte(directory / name)
    }


def _batch_outputs_of(directory: Path, images: set[str]) -> set[str]:
    """Names in ``directory`` that a batch made as the outputs of one of ``images``.

    ``X_alpha.png`` (or ``X_cutout.png``) for an image ``X``, whose batch record (the PNG
    text, with the digests of the inputs it was made from: only a batch writes them) says a
    batch made it. With the trimaps folder as the output folder, an image ``X_alpha`` with
    no trimap of its own then does not take X's matte for its trimap, which the output guard
    refused to replace at every later run. A trimap made by ``vecmatte trimap`` (no record),
    a matte of ``vecmatte alpha`` (no inputs in its record) or any user file stays a trimap.
    """
    from vecmatte.batch._record import read_record

    found = set()
    for suffix in (ALPHA_SUFFIX, CUTOUT_SUFFIX):
        for image in images:
            name = f"{image}{suffix}"
            if Path(name).stem in images and (directory / name).is_file():
                record = read_record(directory / name)
                if record is not None and isinstance(record.get("inputs"), dict):
                    found.add(name)
    return found


def _check_case_only_differences(images: dict[str, list[Path]]) -> None:
    """Refuse images whose names differ only in case (``A.png``, ``a.png``) or in the Unicode
    spelling of an accent (``é`` composed or decomposed).

    Their outputs ``A_alpha.png`` and ``a_alpha.png`` are one file on a case-insensitive
    file system (macOS, Windows, a USB stick): the second image's matte replaced the first's;
    macOS also takes the two spellings of ``é_alpha.png`` for one name (:func:`name_key`).
    Refused on every system, as :func:`vecmatte._output_guard.check_case_only_differences`
    refuses ``-o M.png --cutout m.png``: the same folder must not give two files here and
    one there.
    """
    seen: dict[str, Path] = {}
    for stem, (path, *_) in sorted(images.items()):
        other = seen.setdefault(name_key(stem), path)
        if other is not path:
            how = name_difference(other.stem, path.stem)
            raise ValueError(
                f"images {other.name} and {path.name} differ {how}, so their outputs "
                f"{other.stem}{ALPHA_SUFFIX} and {path.stem}{ALPHA_SUFFIX} are one file on "
                f"{one_file_on(how)}; rename one of them (nothing was written)"
            )


def _check_output_name_lengths(images: dict[str, list[Path]], suffix: str) -> None:
    """Refuse an image whose output name (``NAME`` + ``suffix``) no file system can hold.

    A name may have 255 bytes (NAME_MAX on Linux, macOS and Windows); ``_alpha.png`` makes
    a valid image name of 246 or more too long: the image was solved, then failed writing
    with "file name too long ...; give a shorter name (output)", an output nobody named.
    """
    from vecmatte._output_guard import shortened

    for stem, (path, *_) in images.items():
        size = len(os.fsencode(stem + suffix))
        if size > 255:
            raise ValueError(
                f"{shortened(path.name)}: the name of its output (NAME{suffix}) would be "
                f"{size} bytes long, more than the 255 a file name can have; rename the image "
                "(nothing was written)"
            )


def _first_names(names: list[str]) -> str:
    """The first three of ``names`` and how many more ("a, b, c and 4 more"), or "none".

    The message of folders that share no name said "images: b ..." of a folder holding b
    alone, and listed three of eight trimaps as if they were all.
    """
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more if names else "none"


def _check_not_empty_name(directory, what: str) -> None:
    """Refuse ``""``, which ``Path`` reads as the current folder."""
    if isinstance(directory, str) and directory == "":
        raise ValueError(f"the {what} folder is an empty name (''); give its name")


def _check_input_dir(directory, what: str) -> Path:
    _check_not_empty_name(directory, what)
    directory = Path(directory)
    if not directory.exists():
        raise FileNotFoundError(f"{directory}: {what} folder does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory}: {what} folder is not a directory")
    return directory


def _prepare_output_dir(directory: Path) -> Path:
    """Create ``directory`` if needed and make sure files can be written in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except FileExistsError:
        raise NotADirectoryError(f"{directory}: output folder is a file, not a directory") from None
    except NotADirectoryError:
        # out.png/run1: "cannot write in the output folder (Not a directory)", a
        # PermissionError that named neither the file nor what is wrong with it.
        file = next((p for p in directory.parents if p.is_file()), directory.parent)
        raise NotADirectoryError(f"{directory}: {file} is a file, not a folder") from None
    except OSError as error:
        raise PermissionError(
            f"{directory}: cannot write in the output folder ({error.strerror or error}); "
            "choose another one with -o"
        ) from None
    return directory


def _check_band(band) -> int | None:
    from vecmatte._validation import check_band

    return None if band is None else check_band(band)


def find_tasks(
    images_dir: Folder,
    trimaps_dir: Folder,
    out_dir: Folder,
    *,
    cutout: bool = False,
    band: int | None = None,
    **options: Any,
) -> list[BatchTask]:
    """One task per image of ``images_dir``, paired by name with a trimap of ``trimaps_dir``.

    Parameters
    ----------
    images_dir, trimaps_dir : str or Path
        Folders of images and trimaps (or masks, with ``band``); ``photo.jpg`` goes with
        ``photo.png`` (same name, any image extension: ``.png .jpg .jpeg .tif .tiff .bmp
        .webp``).
    out_dir : str or Path
        Where ``NAME_alpha.png`` (and ``NAME_cutout.png``) are written; created if missing.
        It may be an input folder. The outputs an earlier batch wrote into the images
        folder (``X_alpha.png`` next to an ``X``, marked as vecmatte's in their PNG text)
        are not taken as images; a user's own file of such a name is, and an output that
        would replace it (or a trimap) is refused.
    cutout : bool, optional
        Also write an RGBA cutout of each image.
    band : int, optional
        ``trimaps_dir`` holds rough masks; each becomes a trimap with an unknown band of
        ``band`` pixels on each side of the mask's edge.
    **options
        ``method``, ``eps``, ``radius``, ``preconditioner``, ``rtol``, ``maxiter``,
        ``options`` (a dict of the method's own options), ``max_pixels`` and ``bit_depth``
        (8 or 16 bits per sample of the mattes; see :class:`BatchTask`).

    Returns
    -------
    list of BatchTask
        Sorted by name. An image without a trimap still gets a task, whose trimap path
        does not exist: it is reported as failed, without stopping the others.

    Raises
    ------
    ValueError
        If ``images_dir`` holds no image, no image has a trimap, two files share a name,
        an output would overwrite an input, ``bit_depth`` is not 8 or 16, or a solver
        option is out of its range (checked here, before any image is solved).
    TypeError
        If an option is not one of the above (the message lists them).
    FileNotFoundError, NotADirectoryError, PermissionError
        If a folder is missing, or ``out_dir`` cannot be created or written in.
    """
    from vecmatte.alpha import check_solve_options
    from vecmatte.io import check_max_pixels, check_output_paths, same_file

    unknown = set(options) - set(TASK_OPTIONS)
    if unknown:
        raise TypeError(
            f"find_tasks() got unexpected option(s) {sorted(unknown)}; valid: "
            f"{', '.join(TASK_OPTIONS)}"
        )
    band = _check_band(band)
    method_options = tuple(sorted(dict(options.pop("options", None) or {}).items()))
    probe = BatchTask("", "", "", "", None, options=method_options, **options)
    # Names and image-free ranges once here: find_tasks(..., radius=0) made tasks of which
    # every image then failed with the same "radius must be a positive integer".
    check_solve_options(probe.solver_options())
    check_max_pixels(probe.max_pixels)
    check_task_bit_depth(probe)  # its value; the mattes made here are .png, which hold 16 bits
    what = "masks" if band is not None else "trimaps"
    images_dir = _check_input_dir(images_dir, "images")
    trimaps_dir = _check_input_dir(trimaps_dir, what)
    if same_file(images_dir, trimaps_dir):
        raise ValueError(
            f"{trimaps_dir}: the {what} folder is the images folder; each image would be its "
            f"own {what[:-1]}: give the folder of {what}"
        )
    _check_not_empty_name(out_dir, "output")
    out_dir = Path(out_dir)
    # Outputs of earlier batches in the images folder are not images (whatever -o is now).
    # In the trimaps folder only the trimaps of images are inputs, so an earlier output
    # there is replaced, unless an image of its name would make it a trimap: then it is one
    # only if no batch record shows it to be another image's output (else the guard refuses).
    skip = _own_outputs(images_dir)
    images = _image_files(images_dir, skip)
    if left_out := _no_files(images_dir):
        warnings.warn(
            f"{images_dir}: left out what is named like an image but is no file: "
            f"{_first_names(left_out)}",
            UserWarning,
            stacklevel=2,
        )
    if not images:
        raise ValueError(
            f"{images_dir}: no image files in this folder (looked for {' '.join(IMAGE_EXTENSIONS)})"
        )
    trimaps = _image_files(trimaps_dir, _batch_outputs_of(trimaps_dir, set(images)))
    used_trimaps = {name: paths for name, paths in trimaps.items() if name in images}
    # Two trimaps of one name clash in no output: which one is the image's cannot be told.
    for kind, found, why in (
        ("images", images, "the outputs would clash"),
        (what, used_trimaps, f"which {what[:-1]} goes with the image cannot be told"),
    ):
        clashes = [", ".join(p.name for p in paths) for paths in found.values() if len(paths) > 1]
        if clashes:
            raise ValueError(
                f"several {kind} have the same name, so {why}: "
                f"{'; '.join(clashes[:5])}; rename or remove all but one"
            )
    # only images that are solved write outputs; one without a trimap fails without writing
    _check_case_only_differences({name: images[name] for name in images if name in trimaps})
    _check_output_name_lengths(images, CUTOUT_SUFFIX if cutout else ALPHA_SUFFIX)
    if not set(images) & set(trimaps):
        raise ValueError(
            f"no image of {images_dir} has a {what[:-1]} of the same name in {trimaps_dir} "
            f"(images: {_first_names(sorted(images))}; {what}: {_first_names(sorted(trimaps))})"
        )
    tasks = []
    for name, (image_path,) in sorted(images.items()):
        trimap_path = trimaps[name][0] if name in trimaps else trimaps_dir / f"{name}.*"
        tasks.append(
            BatchTask(
                name=name,
                image_path=str(image_path),
                trimap_path=str(trimap_path),
                alpha_path=str(out_dir / f"{name}{ALPHA_SUFFIX}"),
                cutout_path=str(out_dir / f"{name}{CUTOUT_SUFFIX}") if cutout else None,
                options=method_options,
                band=band,
                **options,
            )
        )
    # the shared guard: no output may be an input (nothing is created before this check)
    try:
        check_output_paths(
            {f"output of {t.name}": path for t in tasks for path in t.outputs()},
            {
                **{f"image {t.name}": t.image_path for t in tasks},
                **{f"{what[:-1]} {t.name}": t.trimap_path for t in tasks if t.name in trimaps},
            },
            writable=False,
        )
    except ValueError as error:
        # The guard's fix is for outputs named one by one; a batch's are named after its
        # images, so "choose another output name" asked for what no option gives.
        fix = "choose another output folder, or rename the file it would replace"
        raise ValueError(str(error).replace("choose another output name", fix)) from None
    _prepare_output_dir(out_dir)
    return tasks
