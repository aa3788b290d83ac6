"""Harness for the CLI tests (tests/cli): runs ``cairn`` in-process against one tracking URI."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from cairn.cli import main


class Cli:
    """Runs ``cairn --tracking-uri <uri> ...`` in-process and checks how it ended."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.runner = CliRunner()

    def invoke(self, *args: str) -> Result:
        return self.runner.invoke(main, ["--tracking-uri", self.tracking_uri, *args])

    def __call__(self, *args: str) -> Result:
        """Run and require success; the failure message shows what the command printed."""
        result = self.invoke(*args)
        assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json").stdout)

    def fails(self, *args: str, exit_code: int = 1) -> str:
        """Run and require a clean failure: an error on stderr, no traceback. Returns stderr."""
        result = self.invoke(*args)
        assert result.exit_code == exit_code, (result.exit_code, result.output)
        assert isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        assert "Error: " in result.stderr
        return result.stderr
