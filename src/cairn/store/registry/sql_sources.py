"""Where a new model version's files are: the one rule for what ``source`` may name.

A version's storage location is what ``get-download-uri`` answers and what clients then read,
so a source must not be able to point anywhere the registering user could not already read
through the tracking server (MLflow had file-disclosure bugs here). Accepted:

- ``models:/<model_id>``: a logged model; its artifact location.
- ``models:/<name>/<version>``: an existing registered version; a copy of its location.
- ``runs:/<run_id>/<path>``: the logged model named ``<path>`` the run produced, else the path
  inside the run's artifacts.
- an artifact URI or path equal to, or inside, the artifact root of the given ``run_id`` (or
  ``model_id``). Nothing else: no ``..``, no percent-encoded separators or dots, no sibling
  directory that merely shares the root's prefix.

A prompt version (tagged ``mlflow.prompt.is_prompt = 'true'``) has no files: its source must be
one of the placeholders MLflow's clients send, and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlsplit

from cairn import validation
from cairn.errors import CairnError
from cairn.models.uri import find_run_model, parse_runs_uri
from cairn.store.artifacts.paths import join_uri, safe_relative_path

if TYPE_CHECKING:
    from cairn.store.tracking.sql import SqlTrackingStore

ACCEPTED_SOURCES = (
    "models:/<model_id>, models:/<name>/<version>, runs:/<run_id>/<path>, or an artifact URI "
    "inside the artifact root of the run_id (or model_id) given with it"
)
MAX_MODEL_ID_LENGTH = 36
# What MLflow's prompt registry sends as the source of a prompt version (client and store).
PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})


class ResolvedSource(NamedTuple):
    storage_location: str
    run_id: str | None
    model_id: str | None


# (name, version) -> the registered version's (storage_location, run_id, model_id)
VersionLookup = Callable[[str, int], ResolvedSource]


def _refuse(source: str, reason: str) -> CairnError:
    return CairnError.invalid(
        f"Invalid model version source {source!r}: {reason}. Accepted sources: {ACCEPTED_SOURCES}."
    )


def resolve_source(
    source: object,
    run_id: str | None,
    model_id: str | None,
    tracking: SqlTrackingStore,
    registered_version: VersionLookup,
    is_prompt: bool = False,
) -> ResolvedSource:
    """The storage location (and the run and logged model) of a version registered from
    ``source``; raises CairnError when the source is not one of the accepted kinds."""
    if is_prompt:
        if source not in PROMPT_SOURCE_PLACEHOLDERS:
            raise CairnError.invalid(
                f"Invalid prompt source {source!r}: a prompt version's source must be one of "
                f"{', '.join(sorted(PROMPT_SOURCE_PLACEHOLDERS))}."
            )
        return ResolvedSource(str(source), run_id, model_id)
    if not isinstance(source, str) or not source:
        raise CairnError.invalid(
            f"Invalid model version source {source!r}: expected {ACCEPTED_SOURCES}."
        )
    if "\x00" in source:
        raise _refuse(source, "it contains a NUL character")
    if run_id is not None:
        run_id = validation.validate_run_id(run_id)
    if model_id is not None and (
        not isinstance(model_id, str) or not model_id or len(model_id) > MAX_MODEL_ID_LENGTH
    ):
        raise CairnError.invalid(f"Invalid model_id {model_id!r}.")
    scheme = source.split(":", 1)[0].lower() if ":" in source else ""
    if scheme == "models":
        return _from_models_uri(source, run_id, model_id, tracking, registered_version)
    if scheme == "runs":
        return _from_runs_uri(source, run_id, model_id, tracking)
    return _from_artifact_uri(source, run_id, model_id, tracking)


def _from_models_uri(
    source: str,
    run_id: str | None,
    model_id: str | None,
    tracking: SqlTrackingStore,
    registered_version: VersionLookup,
) -> ResolvedSource:
    parts = source[len("models:") :].lstrip("/").split("/")
    if len(parts) == 1 and parts[0]:
        model = tracking.get_logged_model(parts[0])
        if model_id is not None and model_id != model.model_id:
            raise _refuse(source, f"model_id {model_id!r} is a different logged model")
        return ResolvedSource(
            model.artifact_location, run_id or model.source_run_id, model.model_id
        )
    if len(parts) == 2 and all(parts):
        name = validation.validate_model_name(parts[0])
        if not (parts[1].isascii() and parts[1].isdigit()):
            raise _refuse(source, "the version must be a number")
        found = registered_version(name, validation.validate_model_version(parts[1]))
        if (run_id is not None and run_id != found.run_id) or (
            model_id is not None and model_id != found.model_id
        ):
            raise _refuse(source, "run_id and model_id must be the ones of the version it names")
        return ResolvedSource(found.storage_location, found.run_id, found.model_id)
    raise _refuse(source, "expected models:/<model_id> or models:/<name>/<version>")


def _from_runs_uri(
    source: str, run_id: str | None, model_id: str | None, tracking: SqlTrackingStore
) -> ResolvedSource:
    try:
        uri_run_id, path = parse_runs_uri(source)
    except CairnError as exc:
        raise _refuse(source, exc.message.rstrip(".")) from None
    uri_run_id = validation.validate_run_id(uri_run_id)
    if run_id is not None and run_id != uri_run_id:
        raise _refuse(source, f"run_id {run_id!r} is not the run the source names")
    run = tracking.get_run(uri_run_id)
    model = find_run_model(tracking, uri_run_id, path, run.info.experiment_id) if path else None
    if model is not None:
        if model_id is not None and model_id != model.model_id:
            raise _refuse(source, f"model_id {model_id!r} is not the run's model {path!r}")
        return ResolvedSource(model.artifact_location, uri_run_id, model.model_id)
    location = join_uri(run.info.artifact_uri, path) if path else run.info.artifact_uri
    return ResolvedSource(location, uri_run_id, model_id)


def _from_artifact_uri(
    source: str, run_id: str | None, model_id: str | None, tracking: SqlTrackingStore
) -> ResolvedSource:
    roots: list[str] = []
    if run_id is not None:
        roots.append(tracking.get_run(run_id).info.artifact_uri)
    if model_id is not None:
        roots.append(tracking.get_logged_model(model_id).artifact_location)
    if not roots:
        raise _refuse(source, "an artifact URI needs the run_id (or model_id) it belongs to")
    if not any(is_inside(source, root) for root in roots):
        which = "run's" if model_id is None else "run's or model's" if run_id else "model's"
        raise _refuse(source, f"it is not inside the {which} artifact root")
    return ResolvedSource(source, run_id, model_id)


# ------------------------------------------------------------------ containment


def _local_path(uri: str) -> str | None:
    """The absolute local path a plain path or ``file:`` URI names (not normalized), or None
    for any other URI."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "" or len(scheme) == 1:  # a path ("C:" is a drive, not a scheme)
        path = uri
    elif scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            return ""  # a remote host or extra parts: never equal to a local root
        path = unquote(parts.path)
    else:
        return None
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def is_inside(source: str, root: str) -> bool:
    """Whether ``source`` names ``root`` or something under it, compared as URIs without
    resolving anything: the part after the root must be a clean relative path."""
    source_path, root_path = _local_path(source), _local_path(root)
    if (source_path is None) != (root_path is None):
        return False
    if source_path is None or root_path is None:
        s, r = urlsplit(source), urlsplit(root)
        if (s.scheme.lower(), s.netloc, s.query, s.fragment) != (
            r.scheme.lower(),
            r.netloc,
            r.query,
            r.fragment,
        ):
            return False
        source_path, root_path = s.path, r.path
        if not root_path.startswith("/"):
            root_path = "/" + root_path
        if not source_path.startswith("/"):
            source_path = "/" + source_path
    if not source_path or not root_path:
        return False
    root_path = root_path.rstrip("/") or "/"
    if source_path.rstrip("/") == root_path:
        return True
    prefix = root_path if root_path.endswith("/") else root_path + "/"
    if not source_path.startswith(prefix):
        return False
    return _clean_remainder(source_path[len(prefix) :])


def _clean_remainder(rest: str) -> bool:
    """Whether the part below the root stays below it however many times something decodes
    it (``%252e%252e`` is ``..`` after two rounds). ``?`` and ``#`` are refused too: read as a
    URI, the path would end before them."""
    if "?" in rest or "#" in rest:
        return False
    for _ in range(8):
        try:
            safe_relative_path(rest)
        except CairnError:
            return False
        decoded = unquote(rest)
        if decoded == rest:
            return True
        rest = decoded
    return False
