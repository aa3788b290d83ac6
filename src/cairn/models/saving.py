"""The steps every flavor's ``save_model`` shares: an empty target directory, the signature
(inferred from the input example if not given), the input example files, the environment
files, ``code_paths`` and the MLmodel itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import RESOURCE_ALREADY_EXISTS, CairnError
from cairn.models import environment
from cairn.models.mlmodel import PYFUNC_FLAVOR, Model, directory_size

if TYPE_CHECKING:
    from cairn.models.signature import ModelSignature

_log = logging.getLogger("cairn.models")
CODE_DIR = "code"


@contextmanager
def new_model_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """``path`` created empty for a flavor to save into, and removed again if saving fails, so
    a failed save leaves no half-written model; an existing non-empty directory or a file is
    refused."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CairnError(
            f"Cannot save a model to {str(target)!r}: it already exists and is not an empty "
            "directory. Choose a new path.",
            RESOURCE_ALREADY_EXISTS,
        )
    target.mkdir(parents=True, exist_ok=True)
    try:
        yield target
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def resolve_signature(
    signature: ModelSignature | bool | None,
    input_example: Any,
    predict: Callable[[Any], Any] | None = None,
) -> ModelSignature | None:
    """The given signature; else one inferred from the example (and the model's output on it).

    ``signature=False`` means none at all. A model that cannot predict on its own example still
    gets an input-only signature, with a warning saying why.
    """
    if signature is False:
        return None
    if signature is not None and signature is not True:
        return signature  # type: ignore[return-value]
    if input_example is None:
        return None
    from cairn.models.input_example import example_data, example_params
    from cairn.models.signature import infer_signature

    data = example_data(input_example)
    output = None
    if predict is not None:
        try:
            output = predict(data)
        except Exception as exc:
            _log.warning(
                "The model could not predict on its input example (%s: %s); the signature "
                "describes its inputs only.",
                type(exc).__name__,
                exc,
            )
    params = example_params(input_example)
    one_per_row = getattr(output, "ndim", None) == 1 and hasattr(output, "dtype")
    # One value per row of a column-based input is a column, as MLflow records it.
    if one_per_row and not infer_signature(data, None, params).inputs.is_tensor_spec():
        import pandas as pd

        output = pd.Series(output)
    return infer_signature(data, output, params)


def copy_code_paths(path: Path, code_paths: Sequence[str | os.PathLike[str]] | None) -> str | None:
    """Copy each file or package into ``<model>/code/``; returns "code" (or None if none)."""
    if not code_paths:
        return None
    target = path / CODE_DIR
    target.mkdir()
    for item in code_paths:
        source = Path(item)
        if not source.exists():
            raise CairnError.invalid(f"code_paths entry {str(item)!r} does not exist.")
        dest = target / source.name
        if source.is_dir():
            shutil.copytree(
                source,
                dest,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                dirs_exist_ok=True,
            )
        else:
            shutil.copy2(source, dest)
    return CODE_DIR


def add_code_to_path(model_dir: str | os.PathLike[str], code: str | None) -> None:
    """Put a model's saved code directory first on ``sys.path`` so its modules import."""
    if not code:
        return
    from cairn.store.artifacts.paths import resolve_inside

    directory = str(resolve_inside(Path(model_dir), code))
    if os.path.isdir(directory) and directory not in sys.path:
        sys.path.insert(0, directory)


@contextmanager
def code_on_path(model_dir: Path, code: str | None) -> Iterator[None]:
    """A model's saved code importable for the duration (signature inference at save time)."""
    if not code:
        yield
        return
    directory = str(model_dir / code)
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(directory)


def finish_model(
    path: Path,
    mlmodel: Model,
    *,
    pyfunc_conf: dict[str, Any] | None,
    flavor_packages: Sequence[str],
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write the example, the environment and the MLmodel; returns the completed Model."""
    if input_example is not None:
        from cairn.models.input_example import save_input_example

        mlmodel.saved_input_example_info = save_input_example(path, input_example)
    mlmodel.signature = signature
    if metadata is not None:
        mlmodel.metadata = dict(metadata)
    mlmodel.model_size_bytes = directory_size(path)
    requirements = environment.infer_requirements(
        flavor_packages, pip_requirements, extra_pip_requirements
    )
    env = environment.write_environment(path, requirements)
    if pyfunc_conf is not None:
        conf = {**pyfunc_conf, "env": env, "python_version": environment.python_version()}
        mlmodel.flavors = {PYFUNC_FLAVOR: conf, **mlmodel.flavors}
    mlmodel.save(path)
    return mlmodel
