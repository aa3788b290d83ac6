"""cairn's web UI: ES modules, CSS and pinned front-end libraries, served as static files.

There is no build step: ``static/`` is what the browser loads (``index.html`` maps the bare
module names of the libraries in ``static/vendor/`` with an import map). The UI reads and writes
through the same REST API as every client; :mod:`cairn.server.routes.ui` serves the files.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
