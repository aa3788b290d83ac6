"""Import from MLflow: experiments, runs (same ids), histories, datasets and artifacts.

:func:`~cairn.importer.run.import_from` copies from a :class:`~cairn.importer.sources.Source`
(an MLflow database or tracking server, see :func:`~cairn.importer.sources.open_source`) into a
cairn SQL store; ``cairn import`` is its command line.
"""

from cairn.importer.run import ImportOptions, ImportSummary, import_from
from cairn.importer.sources import Source, open_source

__all__ = ["ImportOptions", "ImportSummary", "Source", "import_from", "open_source"]
