"""``python -m vecmatte.cli``: the ``vecmatte`` command."""

from vecmatte.cli import console_entry

if __name__ == "__main__":
    console_entry()
