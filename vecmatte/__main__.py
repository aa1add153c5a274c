"""``python -m vecmatte``: the ``vecmatte`` command (for an environment without its script)."""

from vecmatte.cli import console_entry

if __name__ == "__main__":
    console_entry()
