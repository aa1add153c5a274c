"""The ``vecmatte`` command: a thin layer of argparse over the library.

One module per subcommand, listed once in :data:`COMMANDS`; each defines ``register(commands)``
(adds its parser, with ``run`` as default) and ``run(args) -> int``. Exit codes: 0 success,
1 the input or the computation failed (one-line message on stderr, nothing written),
2 wrong command-line usage, an option's value out of its range included, and what the
output names alone refuse (an extension vecmatte does not write or that cannot hold what is
asked, names differing only in case) (one line, and which ``--help`` to read), 130
interrupted, 143 terminated (SIGTERM, :class:`Terminated`).
``vecmatte --help`` says so in its epilog.
"""

from __future__ import annotations

import argparse
import contextvars
import importlib
import itertools
import os
import re
import signal
import sys
import warnings

import vecmatte
from vecmatte.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)
from vecmatte.cli._messages import one_line
from vecmatte.cli._outputs import StandardOutputClosed

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
        hint = _leading_dash_hint(self, message)
        self.exit(2, f"vecmatte: error: {message}{hint}\nsee {self.prog} --help\n")


# The words being parsed, for the hints of usage errors (argparse's messages lack them).
_ARGV: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("argv", default=None)
_EXPECTED_ONE = re.compile(r"argument (\S+): expected one argument")
_NUMBER = re.compile(r"-\d+\.?\d*(e[-+]?\d+)?|-\.\d+(e[-+]?\d+)?|-inf|-nan", re.IGNORECASE)


def _leading_dash_hint(parser: argparse.ArgumentParser, message: str) -> str:
    """Why argparse refused a file name that begins with '-', and how to give it.

    ``-o -m.png`` said only "argument -o/--output: expected one argument", and ``vecmatte
    alpha -d.png t.png -o m.png`` "the following arguments are required: image": argparse
    takes a word that begins with '-' for an option, and its message names neither.
    """
    argv = _ARGV.get()
    if not argv or " " not in parser.prog:  # vecmatte itself takes no file names
        return ""
    expected = _EXPECTED_ONE.fullmatch(message)
    if expected is not None:
        names = expected.group(1).split("/")
        for word, value in itertools.pairwise(argv):
            # An option there (-o --quiet) is rather a value forgotten than a file name.
            if (
                word in names
                and value.startswith("-")
                and value != "-"
                and not _is_an_option(parser, value, attached=False)
            ):
                return f"; '{value}' begins with '-', so it was taken for an option: {word}={value}"
        return ""
    if not message.startswith(("the following arguments are required", "unrecognized arg")):
        return ""
    # After '--' every word is a file name already.
    for word in argv[: argv.index("--")] if "--" in argv else argv:
        if _looks_like_an_unknown_option(parser, word):
            return (
                f"; '{word}' begins with '-' and is no option of {parser.prog}: for a file of "
                f"that name write ./{word} (or the options first, then -- and the file names)"
            )
    return ""


def _looks_like_an_unknown_option(parser: argparse.ArgumentParser, word: str) -> bool:
    if not word.startswith("-") or word in ("-", "--") or _NUMBER.fullmatch(word):
        return False
    if word.startswith("--") and not any(c in word for c in "./"):
        return False  # a mistyped option (--bogus) rather than a file name
    if not any(c in word for c in "./") and not os.path.lexists(word):
        # -v (a verbose flag tried) was answered "for a file of that name write ./-v": a
        # word with no extension or folder is taken for a file only where one is so named.
        return False
    return not _is_an_option(parser, word)


def _is_an_option(parser: argparse.ArgumentParser, word: str, *, attached: bool = True) -> bool:
    """``word`` names an option of ``parser`` (``--output=m.png``, an abbreviated ``--out``,
    and with ``attached`` a short one with its value attached: ``-o-m.png``)."""
    known = [o for action in parser._actions for o in action.option_strings]
    name = word.split("=", 1)[0]
    if name in known or (attached and not word.startswith("--") and word[:2] in known):
        return True
    return word.startswith("--") and any(o.startswith(name) for o in known)  # abbreviated


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vecmatte`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with a subcommand per entry of :data:`COMMANDS`.
    """
    parser = _Parser(
        prog="vecmatte",
        description="Alpha matting in vectorized NumPy/SciPy: mattes, cutouts, composites.",
        epilog="Exit codes: 0 done; 1 a file or the computation failed (an input missing or "
        "unreadable, an output that cannot be written, a solve that does not fit in memory); "
        "2 a usage error: an option's value outside what it takes (an output's extension "
        "included: -o m.xyz, -o m.jpg --bit-depth 16), or options that do not go together "
        "(one line, and the --help to read); 130 interrupted (Ctrl-C), 143 "
        "terminated (SIGTERM: kill, timeout); an interrupted command leaves no partial file.",
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
    words = sys.argv[1:] if argv is None else list(argv)
    token = _ARGV.set(words)
    try:
        return _parse_words(parser, words)
    finally:
        _ARGV.reset(token)


def _parse_words(parser: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    args, extra = parser.parse_known_args(words)
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
    """Run the ``vecmatte`` command on ``argv``; return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program's name (``sys.argv[1:]`` if None).

    Returns
    -------
    int
        The exit code, as the module's docstring lists them (0: success).
    """
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command == "serve" and signal.getsignal(signal.SIGTERM) is _terminate:
        # A server's SIGTERM is its owner's to decide (vecmatte.web.server): as before.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with warnings.catch_warnings():
        _show_warnings_as_messages()
        try:
            return args.run(args)
        except UsageError as error:
            # As argparse's own usage errors (_Parser.error) read, but returned, not exited.
            print(
                f"vecmatte: error: {one_line(error)}\nsee vecmatte {args.command} --help",
                file=sys.stderr,
            )
            return EXIT_USAGE
        except StandardOutputClosed as error:
            # A PNG cut short on a pipe: one line, since the files asked for are not there.
            print(f"vecmatte: error: {error}", file=sys.stderr)
            return EXIT_FAILURE
        except BrokenPipeError:
            raise  # the reader of printed text went away (eval | head): console_entry ends quietly
        except KeyboardInterrupt as error:
            return _interrupted(error, getattr(args, "interrupted_hint", None))
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


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a service or container stopped) during a command.

    Python's default ends the process at once: a write cut short left its temporary file
    (``.m.png.*.tmp``) beside the output for good, and a batch its empty output folder.
    Raised as an interruption instead, it unwinds as Ctrl-C does (temporaries removed,
    folders made left empty removed) and the command exits 143 (128 + 15), as killed.
    Python runs the handler between bytecodes, so a long NumPy/SciPy call delays it: during a
    'direct' solve (factorisation included, its fronts are many calls) the longest such call
    took 0.26-0.36 s of CPU at 4 MP and 0.52 s at 16 MP (session 10, GT02 upscaled), and a
    SIGTERM sent mid-factorisation exited 143 within 0.5-2.1 s on a loaded machine.
    """


def _terminate(signum, frame) -> None:
    raise Terminated


def _interrupted(error: KeyboardInterrupt, hint: str | None = None) -> int:
    """Say on standard error that the command was interrupted (Ctrl-C) or terminated
    (:class:`Terminated`), with ``hint`` if given; the exit code: 130 or 143."""
    terminated = isinstance(error, Terminated)
    print(
        f"vecmatte: {'terminated' if terminated else 'interrupted'}"
        + (f"; {hint}" if hint else ""),
        file=sys.stderr,
    )
    return 128 + signal.SIGTERM if terminated else EXIT_INTERRUPTED


def console_entry() -> None:
    """The ``vecmatte`` console script."""
    signal.signal(signal.SIGTERM, _terminate)
    if sys.stderr is None:
        # Started with standard error closed (2>&-, some daemons): Python sets sys.stderr to
        # None and print(..., file=None) writes to standard output, so progress lines went
        # into the PNG of `-o -`. Messages are dropped instead.
        sys.stderr = open(os.devnull, "w")  # kept open for the whole run
    try:
        code = main()
        if sys.stdout is not None:  # None: started with it closed (>&-), nothing printed
            sys.stdout.flush()  # a pipe closed early fails here rather than at exit
    except KeyboardInterrupt as error:
        # Before main's own handler runs (while the parser imports the subcommands, ~0.3 s)
        # Ctrl-C printed a 20-line traceback: said as main says it, nothing was written yet.
        code = _interrupted(error)
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
