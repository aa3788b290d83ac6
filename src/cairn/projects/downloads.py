"""Remote values of ``path`` parameters, downloaded before the command runs.

A ``path`` parameter promises the command a local file or directory, so a URI given for one
(``runs:/<run_id>/data.csv``, ``s3://bucket/key``, ``mlflow-artifacts:/...``, ``https://...``)
is downloaded into the run's storage directory and the command gets the local path. ``uri``
parameters are passed as they are: the command reads those itself.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from urllib.parse import urlparse

from cairn.errors import CairnError
from cairn.projects.spec import EntryPoint

REMOTE_SCHEMES = ("runs", "s3", "mlflow-artifacts", "http", "https")


def has_remote_paths(point: EntryPoint, declared: dict[str, str]) -> bool:
    return any(_remote(point, name, value) for name, value in declared.items())


def _remote(point: EntryPoint, name: str, value: str) -> bool:
    parameter = point.parameters.get(name)
    return (
        parameter is not None
        and parameter.type == "path"
        and urlparse(value).scheme in REMOTE_SCHEMES
    )


def localize_path_parameters(
    point: EntryPoint, declared: dict[str, str], storage_dir: Path, tracking_uri: str
) -> dict[str, str]:
    """``declared`` with every remote ``path`` value replaced by a local copy."""
    out = dict(declared)
    for name, value in declared.items():
        if not _remote(point, name, value):
            continue
        scheme = urlparse(value).scheme
        target = storage_dir / name
        target.mkdir(parents=True, exist_ok=True)
        try:
            out[name] = _download(value, scheme, target, tracking_uri)
        except CairnError as error:
            raise CairnError.invalid(
                f"Parameter {name!r} ({value}) could not be downloaded: {error.message}"
            ) from None
    return out


def _download(uri: str, scheme: str, target: Path, tracking_uri: str) -> str:
    if scheme == "runs":
        from cairn.models.uri import parse_runs_uri
        from cairn.tracking.client import TrackingClient

        run_id, path = parse_runs_uri(uri)
        return TrackingClient(tracking_uri).download_artifacts(run_id, path, str(target))
    if scheme in ("http", "https") and "/mlflow-artifacts/" not in urlparse(uri).path:
        return _fetch_url(uri, target)
    from cairn.store.artifacts import get_artifact_repository

    parent, name = posixpath.split(uri.rstrip("/"))
    if not name:
        raise CairnError.invalid(f"{uri!r} names no file or directory.")
    repository = get_artifact_repository(parent, tracking_uri=tracking_uri)
    return repository.download_artifacts(name, str(target))


def _fetch_url(url: str, target: Path) -> str:
    destination = target / (os.path.basename(urlparse(url).path) or "download")
    download_url(url, destination)
    return str(destination)


def download_url(url: str, destination: Path) -> None:
    """Stream ``url`` into the file ``destination`` (following redirects); an HTTP error or a
    failed connection is a :class:`CairnError` saying which."""
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            if response.status_code >= 400:
                raise CairnError.invalid(f"HTTP {response.status_code} from {url}")
            with open(destination, "wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise CairnError.invalid(str(error)) from None
