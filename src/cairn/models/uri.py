"""Model URIs to a local model directory: paths, ``file://``, ``runs:/<run_id>/<path>``,
``models:/<model_id>`` and the registry's ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
``models:/<name>/latest`` and ``models:/<name>/<stage>``.

``runs:/<run>/<name>`` first means the logged model named ``<name>`` the run produced (MLflow 3
stores models apart from run artifacts), else the path in the run's artifacts. A registered
version is found through the registry store (see :mod:`cairn.registry.uri`) and its files
where the registry says they are. Downloads go through the artifact repositories, which confine
every path to the artifact root.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from cairn.errors import RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.artifacts.paths import safe_relative_path


def _client(tracking_uri: str | None):  # type: ignore[no-untyped-def]
    from cairn.tracking.client import TrackingClient

    return TrackingClient(tracking_uri)


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """(run_id, path) of ``runs:/<run_id>/<path>``."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise CairnError.invalid(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    return run_id, safe_relative_path(path)


def find_run_model(store, run_id: str, name: str, experiment_id: str | None = None):  # type: ignore[no-untyped-def]
    """The newest READY logged model of ``run_id`` named ``name`` (else its newest model of
    that name), or None. ``store`` is a tracking store; the registry uses this rule too.
    ``experiment_id`` is the run's, when the caller has it already."""
    if not name or "/" in name or "'" in name:
        return None  # not a model name (a filter string cannot quote it either)
    if experiment_id is None:
        experiment_id = store.get_run(run_id).info.experiment_id
    page = store.search_logged_models(
        [experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{name}'",
        order_by=[{"field_name": "creation_timestamp", "ascending": False}],
        max_results=10,
    )
    ready = [m for m in page if m.status == "READY"]
    return (ready or list(page) or [None])[0]


# A registered version's files may be another models:/ URI (a copied version names its
# source version): followed this many times at most, so a cycle is an error, not a hang.
_MAX_REDIRECTS = 8


def model_artifact_location(
    uri: str, tracking_uri: str | None = None, _redirects: int = 0
) -> tuple[str, str]:
    """(artifact repository root URI, path under it) where the model's files live."""
    client = _client(tracking_uri)
    if uri.startswith("models:"):
        from cairn.registry.uri import parse_model_uri, resolve_model_version

        parsed = parse_model_uri(uri)
        if parsed.model_id is not None:
            try:
                return client.store.get_logged_model(parsed.model_id).artifact_location, ""
            except CairnError as exc:
                if exc.error_code != RESOURCE_DOES_NOT_EXIST or parsed.model_id.startswith("m-"):
                    raise
                raise CairnError.not_found(
                    f"{exc.message} For a registered model say which version: "
                    f"models:/{parsed.model_id}/<version>, models:/{parsed.model_id}@<alias> or "
                    f"models:/{parsed.model_id}/latest."
                ) from exc
        version = resolve_model_version(client.registry_store, uri)
        location = client.get_model_version_download_uri(version.name, version.version)
        if not location.startswith(("models:", "runs:")):
            return location, ""
        if _redirects >= _MAX_REDIRECTS:
            raise CairnError.invalid(
                f"Model URI {uri!r}: its files are behind more than {_MAX_REDIRECTS} "
                f"models:/ or runs:/ redirections (last {location!r})."
            )
        return model_artifact_location(location, tracking_uri, _redirects + 1)
    if uri.startswith("runs:"):
        run_id, path = parse_runs_uri(uri)
        model = find_run_model(client.store, run_id, path)
        if model is not None:
            return model.artifact_location, ""
        return client.get_run(run_id).info.artifact_uri, path
    raise CairnError.invalid(f"Unsupported model URI {uri!r}.")


def is_local(uri: str) -> bool:
    scheme = urlparse(str(uri)).scheme
    return scheme in ("", "file") or len(scheme) == 1


def local_model_path(
    uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """A local directory (or file) holding the model at ``uri``.

    Local paths are used in place; anything else is downloaded into ``dst_path`` (a new
    temporary directory if None).
    """
    uri = os.fspath(uri)
    if is_local(uri):
        from cairn.store.artifacts.local import local_path_from_uri

        path = local_path_from_uri(uri)
        if not path.exists():
            raise CairnError.not_found(f"No model at {uri!r}: the path does not exist.")
        return str(path)
    from cairn.store.artifacts import get_artifact_repository

    dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="cairn-model-"))
    dst.mkdir(parents=True, exist_ok=True)
    if uri.startswith(("runs:", "models:")):
        root, path = model_artifact_location(uri, tracking_uri)
    else:
        root, path = uri, ""
    repo = get_artifact_repository(root, tracking_uri or _client(None).tracking_uri)
    try:
        if not path:
            return repo.download_artifacts("", str(dst / "model"))
        return repo.download_artifacts(path, str(dst))
    except CairnError as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            raise CairnError.not_found(f"No model at {uri!r}: {exc.message}") from exc
        raise
