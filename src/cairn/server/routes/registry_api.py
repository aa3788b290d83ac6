"""cairn's own registry reads, which MLflow's API has no counterpart for: the audit trail and a
version's lineage, for the web UI and cairn's REST client.

Under ``/api/2.0/cairn/`` and ``/ajax-api/2.0/cairn/``, like the UI's other reads:

* ``GET registry/history?name=&version=&max_results=&page_token=`` →
  ``{"events": [{event_id, timestamp, user_id, event, name, version, before, after}],
  "next_page_token"}`` (every event, a model's, or one version's; newest first as the store
  orders them);
* ``GET registry/lineage?name=&version=`` → ``{"lineage": {...}}``: the version's run, its
  experiment, datasets and git commit, and its logged model;
* ``POST registry/copy-version`` with ``{name, version, dst_name}`` → ``{"model_version": ...}``:
  the store's ``copy_model_version`` (the target created if missing), so the UI does not
  repeat its steps over MLflow's endpoints.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from cairn.server import registry_wire as rw
from cairn.server.context import ServerContext
from cairn.server.routes.registry import endpoint
from cairn.server.routes.ui_api import PREFIXES
from cairn.server.wire import page_to_json


class CopyModelVersion(rw.VersionRef, kw_only=True):
    """Copy version ``name``/``version`` into registered model ``dst_name``."""

    dst_name: str


def routes(ctx: ServerContext) -> list[BaseRoute]:
    store = ctx.registry

    def history(req: rw.RegistryHistory) -> dict[str, Any]:
        args: dict[str, Any] = {
            "name": req.name or None,
            "version": req.version or None,
            "page_token": req.page_token or None,
        }
        if req.max_results:
            args["max_results"] = req.max_results
        page = store.get_registry_history(**args)
        return page_to_json("events", [rw.registry_event_to_json(e) for e in page], page.token)

    def lineage(req: rw.VersionRef) -> dict[str, Any]:
        found = store.get_model_version_lineage(req.name, req.version)
        return {"lineage": rw.lineage_to_json(found)}

    def copy_version(req: CopyModelVersion) -> dict[str, Any]:
        copied = store.copy_model_version(req.name, req.version, req.dst_name)
        return {"model_version": rw.model_version_to_json(copied)}

    handlers = {
        ("GET", "registry/history"): endpoint(rw.RegistryHistory, history),
        ("GET", "registry/lineage"): endpoint(rw.VersionRef, lineage),
        ("POST", "registry/copy-version"): endpoint(CopyModelVersion, copy_version),
    }
    return [
        Route(f"{prefix}/{path}", handler, methods=[method])
        for prefix in PREFIXES
        for (method, path), handler in handlers.items()
    ]
