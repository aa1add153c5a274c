"""One error line for the command and the batch records: vecmatte._errors.error_line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import vecmatte._errors
import vecmatte.batch._core


def test_the_batch_and_the_command_say_errors_with_the_one_leaf_function(tmp_path):
    assert vecmatte.batch._core.error_line is vecmatte._errors.error_line
    # The command's error line imported it from the batch core, and with it the whole batch
    # package (vecmatte.batch imports the solver and the executors) just to print a line.
    script = (
        "import sys\n"
        "from vecmatte.cli import main\n"
        "assert main(['alpha', 'missing.png', 'missing.png', '-o', 'x.png']) == 1\n"
        "print(sorted(m for m in sys.modules if m.startswith('vecmatte.batch')))\n"
        "print('vecmatte._errors' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"]
    assert "vecmatte: error: missing.png: no such file" in result.stderr


def test_a_system_error_names_its_files_first_in_one_line():
    error = OSError(28, "No space left on device", "out/a_alpha.png")
    assert vecmatte._errors.error_line(error) == "out/a_alpha.png: no space left on device"
    error = OSError(2, "No such file or directory", "out/.a.tmp", None, "out/a.png")
    assert vecmatte._errors.error_line(error) == "out/.a.tmp, out/a.png: no such file or directory"
    assert vecmatte._errors.error_line(ValueError("two\n  lines")) == "two lines"
    assert vecmatte._errors.error_line(KeyError()) == "KeyError"


def test_collected_warnings_are_the_threads_own_and_a_block_within_collects_apart():
    import threading
    import warnings

    from vecmatte._errors import collected_warnings

    inside, leave = threading.Event(), threading.Event()
    other: list = []

    def other_thread():
        with collected_warnings() as caught:
            inside.set()
            assert leave.wait(30)
            warnings.warn("other", UserWarning, stacklevel=1)
        other.extend(str(w.message) for w in caught)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert inside.wait(30)
    with collected_warnings() as outer:
        warnings.warn("outer 1", UserWarning, stacklevel=1)
        with collected_warnings() as inner:
            warnings.warn("inner", RuntimeWarning, stacklevel=1)
        leave.set()
        thread.join(30)
        warnings.warn(
            "outer 1", UserWarning, stacklevel=1
        )  # "always": the same text again is recorded
    assert [str(w.message) for w in outer] == ["outer 1", "outer 1"]
    assert [str(w.message) for w in inner] == ["inner"]
    assert other == ["other"]


def test_a_file_read_in_one_thread_keeps_no_warning_of_another():
    # named_pillow_warnings recorded with warnings.catch_warnings (process-wide): while one
    # thread read a file (a request of vecmatte serve, a task on a Dask worker's thread),
    # another thread's warning went into its record and was said again in the reading
    # thread: the other request lost its X-Vecmatte-Warning and the reader got it.
    import threading
    import warnings

    from vecmatte._errors import collected_warnings
    from vecmatte._pillow import named_pillow_warnings

    reading, warned = threading.Event(), threading.Event()
    reader: list = []

    def reader_thread():
        with collected_warnings() as caught:
            with named_pillow_warnings("photo.png", UserWarning):
                reading.set()
                assert warned.wait(30)
        reader.extend(str(w.message) for w in caught)

    thread = threading.Thread(target=reader_thread)
    thread.start()
    assert reading.wait(30)
    with collected_warnings() as mine:
        warnings.warn("the other request's note", UserWarning, stacklevel=1)
    warned.set()
    thread.join(30)
    assert [str(w.message) for w in mine] == ["the other request's note"]
    assert reader == []


@contextmanager
def _another_thread_collecting() -> Iterator[None]:
    """Run the block while another thread is inside ``collected_warnings``.

    Its "always" filters are in front of the process-wide ones for as long as the block
    runs: the warnings of this thread must still meet this thread's own filters.
    """
    import threading

    from vecmatte._errors import collected_warnings

    inside, done = threading.Event(), threading.Event()

    def collect():
        with collected_warnings():
            inside.set()
            done.wait(60)

    thread = threading.Thread(target=collect)
    thread.start()
    try:
        assert inside.wait(60)
        yield
    finally:
        done.set()
        thread.join()


def test_another_threads_collection_keeps_this_threads_warning_filters():
    # collected_warnings puts "always" for UserWarning and RuntimeWarning in front of the
    # process-wide filters while any thread collects, and shows the other threads' warnings
    # "as they would have been": a user's "ignore" was shown and "error" did not raise in
    # the user's own thread while a batch task or a request of vecmatte serve collected.
    import warnings

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", message="fatal")
        with _another_thread_collecting():
            warnings.warn("quiet", UserWarning, stacklevel=1)
            with pytest.raises(UserWarning, match="fatal"):
                warnings.warn("fatal", UserWarning, stacklevel=1)
            warnings.filterwarnings("always", message="loud")  # set while it collects
            warnings.warn("loud", RuntimeWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == ["loud"]


def test_another_threads_collection_takes_filters_of_plain_strings():
    # The interpreter's default filters hold their module as a plain string ('__main__'),
    # not a regular expression: the routing of b6484ce called .match on it and raised
    # AttributeError from warnings.warn in a thread that did not collect.
    import warnings

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        warnings.filters.insert(0, ("always", None, UserWarning, __name__, 0))
        warnings.filters.insert(0, ("always", None, DeprecationWarning, __name__, 0))
        warnings._filters_mutated()
        with _another_thread_collecting():
            warnings.warn("old", DeprecationWarning, stacklevel=1)
            warnings.warn("mine", UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == ["old", "mine"]


def test_a_file_name_is_said_as_it_is_only_line_breaks_joined(tmp_path, capsys):
    # " ".join(message.split()) squeezed the two spaces of "a  b.png" (and a tab) into one:
    # the line named a file that is not there (fails on the old code).
    error_line = vecmatte._errors.error_line
    missing = FileNotFoundError(2, "No such file or directory", "a  b.png")
    assert error_line(missing) == "a  b.png: no such file or directory"
    assert error_line(ValueError("x\ty  z.png: cannot read")) == "x\ty  z.png: cannot read"
    # Line breaks (and the blanks around them) still make one space; so do empty lines.
    assert error_line(ValueError("\n first  line \r\n\n\u2028  hint\n")) == "first  line hint"
    assert error_line(ValueError(" \n ")) == "ValueError"
    from vecmatte.cli import main

    image = tmp_path / "a  b.png"
    assert main(["alpha", str(image), str(image), "-o", str(tmp_path / "m.png")]) == 1
    assert f"{image}: " in capsys.readouterr().err
