"""``vecmatte eval``: errors of alpha mattes against ground truth (SAD, MSE, Grad, Conn)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vecmatte.cli import _common, _messages

NAME = "eval"

_COLUMNS = (("sad", "SAD"), ("mse", "MSE"), ("gradient", "Grad"), ("connectivity", "Conn"))


def register(commands) -> None:
    """Add the parser of ``vecmatte eval`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    parser = commands.add_parser(
        NAME,
        help="errors of alpha mattes against ground truth (SAD, MSE, Grad, Conn)",
        description="Compare predicted alpha mattes with ground truth over the trimap's unknown "
        "pixels (alphamatting.com conventions: alpha in [0, 1]; SAD, gradient and "
        "connectivity errors / 1000). Give three files, or three folders whose "
        "files are matched by name, whatever their extensions (b.png with b.tif), as a "
        "batch matches them; the outputs of `vecmatte batch` (b_alpha.png) go with b.png, "
        "also beside the photograph b.png they were made from, and its cutouts "
        "(b_cutout.png) are left out. Rows are named by the predicted file "
        "(b.png). Numbers are printed to three significant digits.",
    )
    parser.add_argument("pred", help="predicted alpha matte, or a folder of them")
    parser.add_argument("gt", help="ground-truth alpha matte, or a folder of them")
    parser.add_argument("trimap", help="trimap, or a folder of them")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress lines on standard error (shown when folders take more than a "
        "second); the table or JSON is printed all the same",
    )
    parser.set_defaults(run=run, usage_error=parser.error)


def _by_stem(folder: Path) -> dict[str, Path]:
    """Image files of ``folder`` by name without extension; two files of one name clash."""
    from vecmatte.io import IMAGE_EXTENSIONS

    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if (
            path.is_file()
            and not path.name.startswith(".")
            and (path.suffix.lower() in IMAGE_EXTENSIONS)
        ):
            found.setdefault(path.stem, []).append(path)
    clashes = [paths for paths in found.values() if len(paths) > 1]
    if clashes:
        raise ValueError(
            f"{folder}: several files have the same name: "
            f"{', '.join(p.name for p in clashes[0])}; keep one"
        )
    return {stem: paths[0] for stem, paths in found.items()}


def triples(pred: Path, truth: Path, trimap: Path) -> list[tuple[str, Path, Path, Path]]:
    """``(name, pred, truth, trimap)``: the three files, or files matched by name in folders.

    ``name`` is the prediction's file name (``b.png``), the file a user opens to look at a
    bad row; in folders it carries the name the three files share (``b.png`` for ``b.tif``).

    Parameters
    ----------
    pred, truth, trimap : Path
        Three files, or three folders.

    Returns
    -------
    list of (str, Path, Path, Path)
        One entry per image.

    Raises
    ------
    ValueError
        If some are folders and some files.
    FileNotFoundError
        If the prediction folder has no image, or another folder lacks one of its names.
    """
    kinds = [path.is_dir() for path in (pred, truth, trimap)]
    if not any(kinds):
        return [(pred.name, pred, truth, trimap)]
    if not all(kinds):
        folder = next(p for p, is_dir in zip((pred, truth, trimap), kinds, strict=True) if is_dir)
        file = next(p for p, is_dir in zip((pred, truth, trimap), kinds, strict=True) if not is_dir)
        raise ValueError(
            f"{folder} is a folder but {file} is not: PRED, GT and TRIMAP must be three files "
            "or three folders, not a mix"
        )
    folders = [(folder, _by_stem(folder)) for folder in (truth, trimap)]
    predicted = _batch_outputs_by_input_name(_by_stem(pred), folders[0][1])
    if not predicted:
        raise FileNotFoundError(f"{pred}: folder has no image files to evaluate")
    for folder, files in folders:
        missing = [name for name in predicted if name not in files]
        if missing:
            raise FileNotFoundError(
                f"{folder}: no file named {missing[0]}.* to match {predicted[missing[0]]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
    return [
        (path.name, path, folders[0][1][stem], folders[1][1][stem])
        for stem, path in sorted(predicted.items())
    ]


def _batch_outputs_by_input_name(predicted: dict[str, Path], truth: dict[str, Path]) -> dict:
    """``predicted`` keyed by the name to match: a batch's ``b_alpha`` is ``b``.

    Only where the ground truth has no file of the full name (a ground truth ``b_alpha``
    still goes with ``b_alpha``); a batch's ``b_cutout`` beside its ``b_alpha`` is left out.
    """
    matched: dict[str, Path] = {}
    for stem, path in predicted.items():
        base, _, suffix = stem.rpartition("_")
        if stem in truth or not base:
            matched[stem] = path
        elif suffix == "alpha" and base in truth:
            matched.setdefault(base, path)
        elif not (suffix == "cutout" and f"{base}_alpha" in predicted):
            matched[stem] = path
    for stem, path in matched.items():
        output = predicted.get(f"{stem}_alpha")
        if output is not None and f"{stem}_alpha" not in truth and _made_from(output, path):
            matched[stem] = output
    return matched


def _made_from(output: Path, image: Path) -> bool:
    """Whether the batch output ``output`` records ``image``'s bytes as its image.

    A batch writing into its images folder (``-o IMAGES_DIR``) puts ``b_alpha.png`` beside
    the photograph ``b.png``: evaluating that folder took the photograph for the prediction
    and failed ("predicted alpha is in colour"). The record's digest says which is which.
    """
    from vecmatte.batch._record import file_digest, read_record

    record = read_record(output)
    inputs = record.get("inputs") if record is not None else None
    return isinstance(inputs, dict) and inputs.get("image") == file_digest(image)


def _number(value: float) -> str:
    """Three significant digits, kept when trailing (0.0200, MSE 5.20e-06 rather than 0.0000)."""
    return f"{value:#.3g}"


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte eval``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    import json
    import warnings

    from vecmatte.io import load_gray
    from vecmatte.metrics import matting_errors
    from vecmatte.trimap import trimap_split

    for name in ("pred", "gt", "trimap"):
        _common.refuse_dash(
            args,
            name.upper(),
            getattr(args, name),
            "eval reads files or folders, not standard input",
            "file",
        )
    rows = []
    found = triples(Path(args.pred), Path(args.gt), Path(args.trimap))
    # Folders of large mattes took minutes with nothing said: the table comes at the end.
    progress = _messages.Reporter(args.quiet).progress("images evaluated")
    for name, pred, truth, trimap in found:
        arrays = (
            load_gray(pred, name="predicted alpha"),
            load_gray(truth, name="ground-truth alpha"),
            load_gray(trimap, name="trimap"),
        )
        for path, what, array in (
            (truth, "ground-truth alpha", arrays[1]),
            (trimap, "trimap", arrays[2]),
        ):
            if array.shape != arrays[0].shape:
                raise ValueError(
                    f"{path}: the {what} has shape {array.shape} but the predicted alpha {pred} "
                    f"has shape {arrays[0].shape}; they must have the same height and width"
                )
        try:
            errors = matting_errors(*arrays)
        except ValueError as error:
            raise ValueError(f"{pred}, {truth}, {trimap}: {error}") from None
        if not trimap_split(arrays[2])[2].any():
            warnings.warn(
                f"{trimap}: the trimap has no unknown (gray) pixels, so the errors of {pred} "
                "are over no pixels and read 0; was a mask or an alpha matte given as trimap?",
                UserWarning,
                stacklevel=2,
            )
        rows.append({"name": name, **errors})
        progress(len(rows), len(found))
    mean = {key: sum(row[key] for row in rows) / len(rows) for key, _ in _COLUMNS}
    if args.json:
        print(json.dumps({"images": rows, "mean": mean}, indent=2))
        return _common.EXIT_OK
    # A table row per file: a name holding a newline would break its row in two.
    names = [_messages.printable(_messages.one_line(row["name"])) for row in rows] + ["mean"]
    width = max(len(name) for name in names)
    print(f"{'image':<{width}}" + "".join(f" {title:>10}" for _, title in _COLUMNS))
    for name, row in zip(names, [*rows, mean], strict=True):
        print(f"{name:<{width}}" + "".join(f" {_number(row[k]):>10}" for k, _ in _COLUMNS))
    return _common.EXIT_OK
