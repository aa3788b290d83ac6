"""``models:/`` URIs: which registered model version (or logged model) one names.

The forms are MLflow's: ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
``models:/<name>/latest`` (the newest version in any stage), ``models:/<name>/<stage>`` (the
newest version in that legacy stage) and ``models:/<model_id>`` (a logged model, no registry).
When a lookup finds nothing, the error names the model and says what it does have, so a typo
in a version or alias is obvious from the message alone.
"""

from __future__ import annotations

from typing import NamedTuple

from cairn.entities.registry import ModelVersion, RegisteredModel, Stage
from cairn.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, CairnError
from cairn.store.registry.protocol import RegistryStore

LATEST = "latest"


class ParsedModelUri(NamedTuple):
    """Exactly one of: ``model_id``; ``name`` with ``version``, ``alias`` or ``stage``; or
    ``name`` alone (the latest version)."""

    model_id: str | None = None
    name: str | None = None
    version: int | None = None
    stage: str | None = None
    alias: str | None = None

    @property
    def is_registry(self) -> bool:
        return self.name is not None


def _improper(uri: str, why: str) -> CairnError:
    return CairnError.invalid(
        f"Invalid model URI {uri!r}: {why}. Use models:/<name>/<version>, models:/<name>@<alias>, "
        "models:/<name>/latest, models:/<name>/<stage> or models:/<model_id>."
    )


def parse_model_uri(uri: str) -> ParsedModelUri:
    """The parts of a ``models:/`` URI; a malformed one is INVALID_PARAMETER_VALUE."""
    if not uri.startswith("models:"):
        raise _improper(uri, "not a models:/ URI")
    rest = uri[len("models:") :].lstrip("/")
    parts = rest.split("/")
    if not rest or len(parts) > 2 or not parts[0].strip():
        raise _improper(uri, "expected a name and one suffix")
    if len(parts) == 2:
        name, suffix = parts
        if "@" in name:
            raise _improper(uri, "an alias and a version (or stage) at once")
        if not suffix.strip():
            raise _improper(uri, "the version, stage or 'latest' after the name is empty")
        if suffix.isascii() and suffix.isdigit():
            return ParsedModelUri(name=name, version=int(suffix))
        if suffix.lower() == LATEST:
            return ParsedModelUri(name=name)
        return ParsedModelUri(name=name, stage=suffix)
    if "@" in rest:
        name, _, alias = rest.rpartition("@")
        if not name.strip() or not alias.strip():
            raise _improper(uri, "expected <name>@<alias>")
        return ParsedModelUri(name=name, alias=alias)
    return ParsedModelUri(model_id=rest)


def resolve_model_version(store: RegistryStore, uri: str) -> ModelVersion:
    """The registered model version a registry ``models:/`` URI names right now."""
    parsed = parse_model_uri(uri)
    name = parsed.name
    if name is None:
        raise _improper(uri, "a logged model id names no registered model version")
    if parsed.version is not None:
        try:
            return store.get_model_version(name, parsed.version)
        except CairnError as exc:
            raise _explain(store, uri, name, f"no version {parsed.version}", exc) from exc
    if parsed.alias is not None:
        try:
            return store.get_model_version_by_alias(name, parsed.alias)
        except CairnError as exc:
            missing = f"no alias {parsed.alias!r}"
            raise _explain(store, uri, name, missing, exc, parsed.alias) from exc
    stage = None
    if parsed.stage is not None:
        try:
            stage = Stage.validate(parsed.stage)
        except CairnError:
            raise _improper(
                uri,
                f"{parsed.stage!r} is not a version, 'latest' or a stage ({', '.join(Stage.ALL)})",
            ) from None
    try:
        latest = store.get_latest_versions(name, [stage] if stage else None)
    except CairnError as exc:
        raise _explain(store, uri, name, "no versions", exc) from exc
    if not latest:
        missing = f"no version in stage {stage!r}" if stage else "no versions"
        raise _explain(store, uri, name, missing, None)
    return max(latest, key=lambda mv: int(mv.version))


def _explain(
    store: RegistryStore,
    uri: str,
    name: str,
    missing: str,
    cause: CairnError | None,
    alias: str | None = None,
) -> CairnError:
    """A not-found error that says what the registered model does have (or that it is not
    there at all). Other failures pass through unchanged, except that a missing alias may come
    as INVALID_PARAMETER_VALUE (MLflow's answer for it)."""
    expected = (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE if alias else None)
    if cause is not None and cause.error_code not in expected:
        return cause
    try:
        model = store.get_registered_model(name)
    except CairnError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            return exc
        return CairnError.not_found(f"Model URI {uri!r}: no registered model named {name!r}.")
    if cause is not None and alias is not None and alias in model.aliases:
        return cause  # the alias is there: the failure was something else
    if not model.latest_versions and missing == "no versions":
        return CairnError.not_found(
            f"Model URI {uri!r}: registered model {name!r} has no versions."
        )
    return CairnError.not_found(
        f"Model URI {uri!r}: registered model {name!r} has {missing}; {describe_versions(model)}."
    )


def describe_versions(model: RegisteredModel) -> str:
    """``latest version 3 (Production: 2); aliases champion -> 3`` or ``it has no versions``."""
    versions = sorted(model.latest_versions, key=lambda mv: int(mv.version))
    if not versions:
        text = "it has no versions"
    else:
        by_stage = ", ".join(f"{mv.current_stage}: {mv.version}" for mv in versions)
        text = f"latest version {versions[-1].version} (newest by stage: {by_stage})"
    if model.aliases:
        pairs = ", ".join(f"{a} -> {v}" for a, v in sorted(model.aliases.items()))
        text += f"; aliases {pairs}"
    else:
        text += "; no aliases"
    return text
