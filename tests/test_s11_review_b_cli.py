"""Review B of session 11: the CLI's terminal check of outputs on a platform without
``os.O_NONBLOCK`` (Windows, 277b873 had no test: it raised AttributeError there)."""

from __future__ import annotations

import os

import pytest

from vecmatte.cli._outputs import is_terminal

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


def test_a_terminal_is_told_where_the_platform_has_no_o_nonblock(monkeypatch, tmp_path):
    controller, terminal = os.openpty()
    try:
        name = os.ttyname(terminal)
        monkeypatch.delattr(os, "O_NONBLOCK")
        assert is_terminal(name)
        assert not is_terminal(os.devnull)  # a character device, not a terminal
        (tmp_path / "m.png").write_bytes(b"")
        assert not is_terminal(tmp_path / "m.png")
    finally:
        os.close(terminal)
        os.close(controller)
