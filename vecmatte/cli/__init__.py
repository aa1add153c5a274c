"""The ``vecmatte`` command: a thin layer of argparse over the library.

One module per subcommand, listed once in :data:`COMMANDS`; each defines ``register(commands)``
(adds its parser, with ``run`` as default) and ``run(args) -> int``. Exit codes: 0 success,
1 the input or the computation failed (one-line message on stderr, nothing written),
2 wrong command-line usage (one line, and which ``--help`` to read), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

import vecmatte
from vecmatte.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    StandardOutputClosed,
    one_line,
)

__all__ = ["COMMANDS", "EXIT_FAILURE", "EXIT_OK", "BatchProgress", "build_parser", "main"]

#: The subcommands, in the order of ``vecmatte --help``: modules of this package.
COMMANDS = ("alpha", "composite", "trimap", "batch", "demo", "eval", "serve")


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line and a pointer to ``--help``.

    argparse prints the whole usage block (a dozen lines for ``alpha``) above the error,
    which hides the one line that says what is wrong. The exit code stays 2. Subparsers
    are made of the parent's class, so every subcommand answers the same way.
    """

    def error(self, message: str):
        self.exit(2, f"vecmatte: error: {message}\nsee {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vecmatte`` command."""
    parser = _Parser(
        prog="vecmatte",
        description="Alpha matting in vectorized NumPy/SciPy: mattes, cutouts, composites.",
    )
    parser.add_argument("--version", action="version", version=f"vecmatte {vecmatte.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"vecmatte.cli.{name}").register(commands)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, accepting an optional positional after options (``alpha IMAGE -o OUT TRIMAP``).

    argparse fills an optional positional (``nargs="?"``) with the positionals before the
    first option and then rejects a later one; the subcommand's ``late_positionals`` take
    what is left, in order.
    """
    args, extra = parser.parse_known_args(argv)
    for name in getattr(args, "late_positionals", ()):
        if extra and getattr(args, name) is None and not extra[0].startswith("-"):
            setattr(args, name, extra.pop(0))
    report = getattr(args, "usage_error", parser.error)
    if extra:
        report(f"unrecognized arguments: {' '.join(extra)}")
    # An empty name ("$UNSET_VARIABLE") would be read as the current folder ("" is "."):
    # "-o ''" said ".: is a directory", and a batch of "" took the current folder. (serve
    # has no file names; its own checks answer for its --host.)
    for name, value in vars(args).items():
        if value == "" and args.command != "serve":
            report(f"{name.replace('_', ' ')} is empty (''); give a name")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the ``vecmatte`` command on ``argv`` (default ``sys.argv[1:]``); return its exit code."""
    parser = build_parser()
    args = _parse(parser, argv)
    with warnings.catch_warnings():
        _show_warnings_as_messages()
        try:
            return args.run(args)
        except StandardOutputClosed as error:
            # A PNG cut short on a pipe: one line, since the files asked for are not there.
            print(f"vecmatte: error: {error}", file=sys.stderr)
            return EXIT_FAILURE
        except BrokenPipeError:
            raise  # the reader of printed text went away (eval | head): console_entry ends quietly
        except KeyboardInterrupt:
            hint = getattr(args, "interrupted_hint", None)
            print(
                "vecmatte: interrupted" + (f"; {hint}" if hint else ""),
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        except (ValueError, OSError, MemoryError, ImportError, OverflowError) as error:
            # OverflowError: an absurd option value (a radius of 1e300) reaching arithmetic.
            from vecmatte._errors import error_line  # the batch says failures the same way

            print(f"vecmatte: error: {error_line(error)}", file=sys.stderr)
            return EXIT_FAILURE


def _show_warnings_as_messages() -> None:
    """Inside ``catch_warnings``: print each warning as one line ``vecmatte: warning: ...``.

    The library warns (non-convergence with the residual, a trimap without unknown pixels,
    an ignored alpha channel); the command reports those as messages, not as Python source
    lines, with the same filters whatever the caller (a shell, or pytest's "error").
    """
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"vecmatte: warning: {one_line(message)}", file=sys.stderr, flush=True)

    warnings.showwarning = show


def console_entry() -> None:
    """The ``vecmatte`` console script."""
    if sys.stderr is None:
        # Started with standard error closed (2>&-, some daemons): Python sets sys.stderr to
        # None and print(..., file=None) writes to standard output, so progress lines went
        # into the PNG of `-o -`. Messages are dropped instead.
        sys.stderr = open(os.devnull, "w")  # kept open for the whole run
    try:
        code = main()
        if sys.stdout is not None:  # None: started with it closed (>&-), nothing printed
            sys.stdout.flush()  # a pipe closed early fails here rather than at exit
    except BrokenPipeError:
        # `vecmatte alpha ... -o - | head -c 10`: as the Python docs advise for SIGPIPE,
        # point standard output at devnull so the interpreter's final flush cannot fail
        # again, and exit 1 without a message (the reader chose to stop).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_FAILURE
    sys.exit(code)


def __getattr__(name: str):
    # BatchProgress lives with the batch subcommand; kept reachable here for callers of
    # the batch runners (its old home).
    if name == "BatchProgress":
        from vecmatte.cli.batch import BatchProgress

        return BatchProgress
    raise AttributeError(f"module 'vecmatte.cli' has no attribute {name!r}")
