"""Registry stores: registered models, versions, aliases, the audit trail and webhooks.

The registry lives beside the tracking data (the same database, or the same server): a
version's lineage reaches into runs and logged models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.store.registry.protocol import RegistryStore


def get_registry_store(uri: str) -> RegistryStore:
    """The registry behind a tracking (or registry) URI: SQL, or a server over HTTP."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres", "mysql"):
        from cairn.store.registry.sql import SqlRegistryStore

        return SqlRegistryStore(uri)
    if scheme in ("http", "https"):
        from cairn.store.registry.rest import RestRegistryStore

        return RestRegistryStore(uri)
    from cairn.errors import CairnError

    raise CairnError.invalid(
        f"Unsupported registry URI {uri!r}: use sqlite:///path.db, postgresql://... or the "
        "http(s):// address of a cairn or MLflow server."
    )
