"""``vecmatte batch``: alpha mattes of a folder of images, locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import os
import sys
import time
import unicodedata
from collections import Counter

from vecmatte.cli import _common, _outputs
from vecmatte.cli._messages import one_line

NAME = "batch"


def register(commands) -> None:
    """Add the parser of ``vecmatte batch`` to the subcommands ``commands``.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.
    """
    parser = commands.add_parser(
        NAME,
        help="alpha mattes of a folder of images, with trimaps (or masks) matched by name",
        description="Compute the alpha matte of every image of IMAGES_DIR with the trimap of "
        "the same name (any image extension) in TRIMAPS_DIR, or with the mask of that name "
        "in --mask DIR; write NAME_alpha.png (and NAME_cutout.png) to OUT_DIR. A failed "
        "image is listed and the others go on (but a full disk, the output folder deleted or "
        "made unwritable, or an input folder deleted or made unreadable stops the batch); "
        "images whose names differ only in case or in the Unicode spelling of an accent, "
        "each with a trimap, are refused (one file on macOS, and Windows for case); the exit "
        "code is 1 if any failed. Outputs are written atomically, so an interrupted batch "
        "can be continued with --resume. OUT_DIR may be IMAGES_DIR: the outputs an earlier "
        "batch wrote there are not taken "
        "for images, and no output may replace an image or a trimap.",
    )
    parser.add_argument("images_dir", help="folder of images")
    parser.add_argument("trimaps_dir", nargs="?", help="folder of trimaps, named like the images")
    parser.add_argument(
        "--mask",
        metavar="MASKS_DIR",
        help="instead of TRIMAPS_DIR: a folder of rough masks named like the images, each "
        "made into a trimap with an unknown band along its edge (--band)",
    )
    _common.band_option(parser)
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT_DIR",
        help="folder for the outputs (created if missing)",
    )
    parser.add_argument(
        "--cutout",
        action="store_true",
        help="also write NAME_cutout.png (RGBA, estimated foreground colours)",
    )
    _common.bit_depth_option(
        parser, "the alpha mattes, 16-bit PNG files for 16 (default 8; cutouts stay 8-bit)"
    )
    parser.add_argument(
        "--jobs",
        type=_common.whole_number_option,
        default=1,
        metavar="N",
        help="images solved at the same time, in N processes, at least 1 (default 1; at most "
        "the number of CPUs); each needs its own memory",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the images whose outputs are already there as complete images made the "
        "way this command makes them (the same --method, solve options and --band, which "
        "each PNG records, and --bit-depth) from the same image and trimap files (each PNG "
        "records their SHA-256: an image or trimap rewritten since is made again, one only "
        "touched is not); the others are made again, as are outputs with no such record "
        "(from an older vecmatte or another program), and the summary counts them",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://HOST:PORT) instead of locally; the workers must see the "
        "same files at the same paths; needs vecmatte[distributed]",
    )
    _common.solver_options(parser)
    _common.read_options(parser)
    parser.set_defaults(
        run=run,
        usage_error=parser.error,
        interrupted_hint="run the same command with --resume to continue where it stopped",
    )


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class BatchProgress:
    """Progress bar of a batch on stderr, and its summary at the end.

    Runner-agnostic: pass the object as ``progress`` to :func:`vecmatte.batch.run_batch` (or
    any runner that calls ``progress(done, total, record)`` as tasks complete), then return
    ``summary(records)`` as the exit code. On a terminal the bar is redrawn in place; in a
    log, one line is written per image.

    Parameters
    ----------
    total : int
        Number of tasks.
    quiet : bool, optional
        Print only errors and the summary.
    stream : file, optional
        Where to write (``sys.stderr`` if None).
    """

    BAR_WIDTH = 24

    def __init__(self, total: int, *, quiet: bool = False, stream=None):
        self.total = total
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.skipped = 0
        self.stopped = False
        self._bar_shown = False
        self._done = 0
        self._solving: list[str] = []  # images started and not ended, in order

    def _write(self, text: str) -> None:
        print(text, file=self.stream, end="", flush=True)

    def close(self) -> None:
        """End the bar's line (before another message, an error or an interruption)."""
        if self._bar_shown:
            self._write("\n")
            self._bar_shown = False

    def starting(self, task) -> None:
        """On a terminal, show which image is being solved (before its record comes).

        A batch of large images showed nothing during the first one's solve (minutes at
        16 MP), and then the previous image's name while the next was solved. Called by
        :func:`vecmatte.batch.run_batch` as each image starts (with ``--jobs N``, as it is
        handed to a free worker: before, nothing was shown until the first image ended); a
        log gets no line for it (one per image is written as each ends).

        Parameters
        ----------
        task : vecmatte.batch.BatchTask
            The image about to be solved.
        """
        self._solving.append(one_line(task.name))
        if self.quiet or not self.tty or self.stopped:
            return
        # With --jobs N, the N images being solved (the bar shows only the last that ended).
        self._draw(self._done, self.total, f"solving {', '.join(self._solving)} ...")

    def _draw(self, done: int, total: int, what: str) -> None:
        """The bar at ``done`` of ``total`` (the runner's, as it calls), then ``what``."""
        elapsed = time.perf_counter() - self.start
        worked = done - self.skipped
        eta = _clock(elapsed / worked * (total - done)) if worked else "-:--:--"
        filled = self.BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (self.BAR_WIDTH - filled)
        line = f"[{bar}] {done}/{total} images  elapsed {_clock(elapsed)}  ETA {eta}  {what}"
        if self.tty:
            # One row of the terminal: a longer line wraps, and "\r" with erase-line redraws
            # only its last row (--jobs 4's "solving a, b, c, d ..." stacked the rest).
            self._write(f"\r{_cut(line, self._columns() - 1)}\033[K")
            self._bar_shown = True
        else:
            self._write(line + "\n")

    def _columns(self) -> int:
        """The terminal's width, read at each redraw (it may be resized); 201 unknown."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 201
        return columns if columns > 1 else 201

    def __call__(self, done: int, total: int, record) -> None:
        """Show that a task ended.

        Parameters
        ----------
        done, total : int
            Tasks ended so far, and in all.
        record : vecmatte.batch.BatchRecord
            What became of the task.
        """
        if record.status == "skipped":
            self.skipped += 1
        if one_line(record.name) in self._solving:
            self._solving.remove(one_line(record.name))
        # --quiet: each failure once, in the summary (said live too, a failure was said twice).
        if record.status == "failed" and not self.stopped and not self.quiet:
            self.close()
            self._write(f"vecmatte: {one_line(record.name)} failed: {one_line(record.error)}\n")
            if getattr(record, "stops", False):
                # The images not run come next, each with the same reason: said once here.
                self.stopped = True
                self._write("vecmatte: stopping: the images left would fail the same way\n")
        self._done = done
        if self.quiet or (self.stopped and not self.tty and done < total):
            return  # in a log, the images not run get no line each (the last one ends it)
        what = f"{one_line(record.name)} {record.status}"
        if self.tty and self._solving and not self.stopped:
            what = f"{what}; solving {', '.join(self._solving)} ..."
        self._draw(done, total, what)

    def summary(self, records) -> int:
        """Print the counts, the failures and the notes; return the exit code.

        Parameters
        ----------
        records : list of vecmatte.batch.BatchRecord
            Every task's record.

        Returns
        -------
        int
            The exit code.
        """
        self.close()
        counts = {
            status: sum(r.status == status for r in records)
            for status in ("done", "skipped", "failed")
        }
        failed = [r for r in records if r.status == "failed"]
        if not self.quiet:
            parts = [f"{counts['done']} done"]
            if counts["skipped"]:
                parts.append(f"{counts['skipped']} skipped (outputs already there)")
            parts.append(f"{counts['failed']} failed")
            self._write(
                f"batch: {len(records)} images in "
                f"{_clock(time.perf_counter() - self.start)}: {', '.join(parts)}\n"
            )
            redone = Counter(
                r.redone for r in records if r.status == "done" and getattr(r, "redone", None)
            )
            for reason, count in redone.items():
                self._write(f"  {count} made again: {reason}\n")
        # Notes are warnings (a matte that did not converge, an older cutout left beside a
        # new matte): said with --quiet too, as vecmatte alpha -q says its warnings.
        prefix = "vecmatte: warning: " if self.quiet else "  note: "
        for record in records:
            if record.status == "done" and getattr(record, "note", None):
                self._write(f"{prefix}{one_line(record.name)}: {one_line(record.note)}\n")
        if failed:
            self._write(f"vecmatte: {len(failed)} of {len(records)} images failed:\n")
            # Images that failed for one same reason (those a full disk left unrun) in one
            # line: a thousand lines of it would hide the image that says what happened.
            by_error: dict[str, list[str]] = {}
            for record in failed:
                by_error.setdefault(one_line(record.error), []).append(one_line(record.name))
            for error, names in by_error.items():
                if len(names) > 3:
                    self._write(f"  {names[0]}, {names[1]} and {len(names) - 2} more: {error}\n")
                    continue
                for name in names:
                    self._write(f"  {name}: {error}\n")
        return _common.EXIT_FAILURE if failed else _common.EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``vecmatte batch``; return the exit code (errors raise, ``main`` reports them).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code.
    """
    from vecmatte.batch import find_tasks, run_batch

    if (args.trimaps_dir is None) == (args.mask is None):
        args.usage_error("give exactly one of TRIMAPS_DIR or --mask MASKS_DIR")
    for name, value in (
        ("IMAGES_DIR", args.images_dir),
        ("TRIMAPS_DIR", args.trimaps_dir),
        ("--mask", args.mask),
        ("-o", args.output),
    ):
        # -o - made a folder named '-' in silence: no PNG anywhere the user looked.
        _common.refuse_dash(
            args, name, value, "a batch reads and writes folders, not standard input or output"
        )
    _common.check_band(args)
    if args.jobs < 1:
        args.usage_error(f"--jobs must be at least 1, got {args.jobs}")
    if args.scheduler is not None and args.jobs != 1:
        args.usage_error(
            "--jobs is for local batches; with --scheduler the Dask workers "
            "decide how many images run at once"
        )
    keywords = _common.solve_keywords(args)
    if args.scheduler is not None:
        from vecmatte.batch.dask import check_scheduler_address

        with _common.usage_errors():  # a malformed address; not a missing Dask
            check_scheduler_address(args.scheduler)  # before the output folder is made
    method = keywords.pop("method")
    named = {k: keywords.pop(k) for k in ("preconditioner", "rtol", "maxiter") if k in keywords}
    # find_tasks makes the output folder; a batch of which no image succeeds removes it.
    made = _outputs.new_folders(args.output)
    tasks = find_tasks(
        args.images_dir,
        args.trimaps_dir if args.mask is None else args.mask,
        args.output,
        cutout=args.cutout,
        band=args.band,
        method=method,
        options=keywords,
        max_pixels=args.max_pixels,
        bit_depth=args.bit_depth,
        **named,
    )
    if args.scheduler is not None and not args.quiet:
        from vecmatte.batch.dask import CONNECT_TIMEOUT

        # Said before the wait: an unreachable scheduler is only known after the timeout.
        print(
            f"vecmatte: connecting to the Dask scheduler at {args.scheduler} "
            f"(giving up after {CONNECT_TIMEOUT} s)",
            file=sys.stderr,
            flush=True,
        )
    progress = BatchProgress(len(tasks), quiet=args.quiet)
    try:
        records = run_batch(
            tasks, jobs=args.jobs, resume=args.resume, progress=progress, scheduler=args.scheduler
        )
    finally:
        progress.close()
        _remove_made_folders(made)
    return progress.summary(records)


def _remove_made_folders(made: list) -> None:
    """Remove the folders this command made that are still empty, unless a batch uses them.

    Another batch started on the output folder meanwhile (for it, the folder was there)
    holds it (:mod:`vecmatte.batch._lock`) and may have written nothing yet: removing it
    made that batch's images fail with "cannot write to directory".
    """
    if not made:
        return
    from vecmatte.batch._lock import FolderLocks

    with FolderLocks(made[:1], shared=False) as locks, locks.alone_in(made[0]) as alone:
        if alone:
            _outputs.remove_empty(made)


def _cut(line: str, columns: int) -> str:
    """``line`` cut to ``columns`` cells of a terminal (East Asian wide characters take two)."""
    if len(line) * 2 <= columns:
        return line
    used = 0
    for at, character in enumerate(line):
        used += 2 if unicodedata.east_asian_width(character) in "WF" else 1
        if used > columns:
            return line[:at]
    return line
