"""``python -m cairn``: the ``cairn`` command line, for an interpreter with no ``cairn`` script
on PATH (the server in a recreated model environment is started this way)."""

from cairn.cli import main

if __name__ == "__main__":
    main(prog_name="cairn")
