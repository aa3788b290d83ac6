"""Names, lengths and limits: the single source of the rules every entry point enforces.

The numbers are MLflow's (``mlflow/utils/validation.py`` as documented), so anything the
``mlflow`` client accepts, cairn accepts, and the other way round.
"""

from __future__ import annotations

import numbers
import posixpath
import re

from cairn.errors import CairnError

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_TAG_VAL_LENGTH = 5000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65535
MAX_DATASET_SCHEMA_LENGTH = 1048575
MAX_DATASET_PROFILE_LENGTH = 16384
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_RESULTS_SEARCH_RUNS = 50000
MAX_RESULTS_SEARCH_EXPERIMENTS = 50000

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_EXPERIMENT_ID_RE = re.compile(r"^[0-9]+$")

# Keys already found valid: validating a key costs one set lookup after the first time.
_valid_keys: set[str] = set()


def validate_key(key: object, kind: str = "metric") -> str:
    """A metric/param/tag key: a non-empty str of allowed characters that is a clean path."""
    if key in _valid_keys:
        return key  # type: ignore[return-value]
    if not isinstance(key, str):
        raise CairnError.invalid(f"Invalid {kind} name: {key!r}. Names must be strings.")
    if not key:
        raise CairnError.invalid(f"Invalid {kind} name: ''. Names may not be empty.")
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise CairnError.invalid(
            f"{kind.capitalize()} name '{key[:40]}...' is {len(key)} characters long; "
            f"the limit is {MAX_ENTITY_KEY_LENGTH}."
        )
    if not _KEY_RE.match(key):
        raise CairnError.invalid(
            f"Invalid {kind} name: {key!r}. Names may only contain alphanumerics, underscores "
            "(_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)."
        )
    if posixpath.normpath(key) != key or key.startswith("/") or ".." in key.split("/"):
        raise CairnError.invalid(
            f"Invalid {kind} name: {key!r}. Names may not contain '..', '//', a leading '/' "
            "or any other path that does not stay where it points."
        )
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def validate_metric_value(key: str, value: object) -> float:
    """Metric values are real numbers (bool and numpy scalars included); NaN/±inf are allowed."""
    tp = type(value)
    if tp is float:
        return value  # type: ignore[return-value]
    if tp is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return float(value)  # type: ignore[arg-type]
    raise CairnError.invalid(
        f"Got invalid value {value!r} for metric '{key}' (type {tp.__name__}). "
        "Metric values must be real numbers."
    )


def validate_step(step: object) -> int:
    if type(step) is int:
        return step  # type: ignore[return-value]
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)  # type: ignore[call-overload]
    raise CairnError.invalid(f"Invalid step {step!r}: a metric step must be an integer.")


def validate_timestamp(timestamp: object) -> int:
    if type(timestamp) is int:
        return timestamp  # type: ignore[return-value]
    if isinstance(timestamp, numbers.Integral) and not isinstance(timestamp, bool):
        return int(timestamp)  # type: ignore[call-overload]
    raise CairnError.invalid(
        f"Invalid timestamp {timestamp!r}: timestamps are integer milliseconds since the epoch."
    )


def stringify_value(value: object) -> str:
    """Params and tags are strings; other values are converted the way MLflow converts them."""
    text = value if type(value) is str else str(value)
    if "\x00" in text:
        raise CairnError.invalid(f"Values may not contain NUL characters: {text[:40]!r}.")
    return text


def validate_param(key: object, value: object) -> tuple[str, str]:
    key = validate_key(key, "param")
    text = stringify_value(value)
    if len(text) > MAX_PARAM_VAL_LENGTH:
        raise CairnError.invalid(
            f"Param '{key}' has a value of {len(text)} characters; the limit is "
            f"{MAX_PARAM_VAL_LENGTH}."
        )
    return key, text


def validate_tag(key: object, value: object, limit: int = MAX_TAG_VAL_LENGTH) -> tuple[str, str]:
    key = validate_key(key, "tag")
    if value is None:
        raise CairnError.invalid(f"Tag '{key}' has no value: tag values must not be None.")
    text = stringify_value(value)
    if len(text) > limit:
        raise CairnError.invalid(
            f"Tag '{key}' has a value of {len(text)} characters; the limit is {limit}."
        )
    return key, text


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str):
        raise CairnError.invalid(f"Invalid experiment name {name!r}: it must be a string.")
    if not name.strip():
        raise CairnError.invalid("Invalid experiment name: it must not be empty.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise CairnError.invalid(
            f"Experiment name is {len(name)} characters long; the limit is "
            f"{MAX_EXPERIMENT_NAME_LENGTH}."
        )
    return name


def validate_run_name(name: object) -> str:
    if not isinstance(name, str):
        raise CairnError.invalid(f"Invalid run name {name!r}: it must be a string.")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise CairnError.invalid(
            f"Run name is {len(name)} characters long; the limit is {MAX_RUN_NAME_LENGTH}."
        )
    return name


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise CairnError.invalid(f"Invalid run id {run_id!r}.")
    return run_id


MAX_EXPERIMENT_ID = 2**31 - 1  # experiment ids are 32-bit integers in every database


def validate_experiment_id(experiment_id: object) -> str:
    text = str(experiment_id) if isinstance(experiment_id, int) else experiment_id
    if (
        not isinstance(text, str)
        or not _EXPERIMENT_ID_RE.match(text)
        or int(text) > MAX_EXPERIMENT_ID
    ):
        raise CairnError.invalid(
            f"Invalid experiment id {experiment_id!r}: experiment ids are strings of digits."
        )
    return text


def validate_batch_sizes(n_metrics: int, n_params: int, n_tags: int) -> None:
    """The per-request limits of MLflow's ``log-batch`` (the fluent logger splits for you)."""
    if n_metrics > MAX_METRICS_PER_BATCH:
        raise CairnError.invalid(
            f"A batch may hold at most {MAX_METRICS_PER_BATCH} metrics; got {n_metrics}."
        )
    if n_params > MAX_PARAMS_TAGS_PER_BATCH:
        raise CairnError.invalid(
            f"A batch may hold at most {MAX_PARAMS_TAGS_PER_BATCH} params; got {n_params}."
        )
    if n_tags > MAX_PARAMS_TAGS_PER_BATCH:
        raise CairnError.invalid(
            f"A batch may hold at most {MAX_PARAMS_TAGS_PER_BATCH} tags; got {n_tags}."
        )
    if n_metrics + n_params + n_tags > MAX_ENTITIES_PER_BATCH:
        raise CairnError.invalid(
            f"A batch may hold at most {MAX_ENTITIES_PER_BATCH} items in all; got "
            f"{n_metrics + n_params + n_tags}."
        )


def validate_max_results(max_results: object, limit: int) -> int:
    if type(max_results) is not int or max_results <= 0 or max_results > limit:
        raise CairnError.invalid(
            f"Invalid max_results {max_results!r}: it must be an integer between 1 and {limit}."
        )
    return max_results


# --- the model registry -----------------------------------------------------------------------

MAX_REGISTERED_MODEL_NAME_LENGTH = 256
MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_REGISTERED_MODEL_ALIAS_LENGTH = 255
MAX_MODEL_VERSION = 2**31 - 1  # versions are 32-bit integers in every database
MAX_RESULTS_SEARCH_REGISTERED_MODELS = 1000
MAX_RESULTS_SEARCH_MODEL_VERSIONS = 200_000
_ALIAS_RE = re.compile(r"[\w\-]+")
_VERSION_ALIAS_RE = re.compile(r"[vV]\d+")


def validate_model_name(name: object, what: str = "name") -> str:
    """A registered model name: it becomes a URI segment (``models:/<name>/<version>``), so no
    ``/`` or ``:``, and a path that names itself (no ``..``, ``.``, ``//``, leading ``/``)."""
    if not isinstance(name, str):
        raise CairnError.invalid(f"Invalid registered model {what} {name!r}: it must be a string.")
    if not name.strip():
        raise CairnError.invalid(f"Invalid registered model {what}: it must not be empty.")
    if len(name) > MAX_REGISTERED_MODEL_NAME_LENGTH:
        raise CairnError.invalid(
            f"Registered model {what} '{name[:40]}...' is {len(name)} characters long; the limit "
            f"is {MAX_REGISTERED_MODEL_NAME_LENGTH}."
        )
    if "/" in name or ":" in name:
        raise CairnError.invalid(
            f"Invalid registered model {what} {name!r}: names cannot contain '/' or ':'."
        )
    if "\x00" in name:
        raise CairnError.invalid(f"Invalid registered model {what} {name!r}: it contains NUL.")
    normalized = posixpath.normpath(name)
    if normalized != name or normalized == "." or normalized.startswith(".."):
        raise CairnError.invalid(
            f"Invalid registered model {what} {name!r}: names may be used as paths and must not "
            f"resolve to another name (this one resolves to {normalized!r})."
        )
    return name


def validate_model_version(version: object) -> int:
    """A version number as given by the API (an int, or its decimal text on the wire)."""
    number: int | None = None
    if type(version) is int:
        number = version
    elif isinstance(version, str) and version.strip().isascii() and version.strip().isdigit():
        number = int(version.strip())
    if number is None or not 1 <= number <= MAX_MODEL_VERSION:
        raise CairnError.invalid(
            f"Invalid model version {version!r}: versions are positive integers."
        )
    return number


def validate_registry_tag(key: object, value: object) -> tuple[str, str]:
    """A registered-model or model-version tag (MLflow allows long values here)."""
    return validate_tag(key, value, MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH)


def validate_alias(alias: object, reserved_ok: bool = False) -> str:
    """A registered model alias: letters, digits, ``_`` and ``-``. ``latest`` and ``v<n>``
    already mean something in ``models:/<name>@...`` URIs, so they cannot be set
    (``reserved_ok`` lets a lookup or a delete name them)."""
    if not isinstance(alias, str) or not alias:
        raise CairnError.invalid(f"Invalid alias {alias!r}: it must be a non-empty string.")
    if len(alias) > MAX_REGISTERED_MODEL_ALIAS_LENGTH:
        raise CairnError.invalid(
            f"Alias '{alias[:40]}...' is {len(alias)} characters long; the limit is "
            f"{MAX_REGISTERED_MODEL_ALIAS_LENGTH}."
        )
    if not _ALIAS_RE.fullmatch(alias):
        raise CairnError.invalid(
            f"Invalid alias {alias!r}: aliases may only contain alphanumerics, underscores (_) "
            "and dashes (-)."
        )
    if not reserved_ok and alias.lower() == "latest":
        raise CairnError.invalid("The alias 'latest' (in any case) is reserved.")
    if not reserved_ok and _VERSION_ALIAS_RE.fullmatch(alias):
        raise CairnError.invalid(f"The alias {alias!r} is reserved: it names a version.")
    return alias
