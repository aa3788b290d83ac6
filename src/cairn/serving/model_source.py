"""Which model a scoring server serves: a path or URI, resolved once; an alias, followed.

``models:/churn@champion`` (and ``/latest``, ``/Production``) is resolved to a version when the
server starts; the version is what gets loaded and what responses name (``churn/3``). With
``--watch-alias`` the server asks the registry again every few seconds and, when the alias has
moved, loads the new version beside the old one and swaps them between two predictions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cairn.errors import CairnError
from cairn.serving.batching import LoadedModel

_log = logging.getLogger("cairn.serving")


@dataclass(frozen=True)
class ResolvedModel:
    """A model URI pinned to what it names now: ``load_uri`` never changes meaning."""

    uri: str  # as given
    load_uri: str
    label: str
    name: str | None = None
    version: str | None = None

    @property
    def follows_registry(self) -> bool:
        """Whether ``uri`` can name another version later (an alias, latest or a stage)."""
        return self.name is not None and self.load_uri != self.uri


def resolve(uri: str, tracking_uri: str | None = None) -> ResolvedModel:
    """Pin ``uri``: registry URIs to ``models:/<name>/<version>``, anything else as it is.

    The one place a serving command (serve, predict in an environment, a container, ...) asks
    the registry what an alias names.
    """
    from cairn.registry.uri import parse_model_uri

    if not uri.startswith("models:"):
        return ResolvedModel(uri, uri, uri)
    parsed = parse_model_uri(uri)
    if parsed.name is None:
        return ResolvedModel(uri, uri, uri)  # a logged model id names one model already
    from cairn.registry.uri import resolve_model_version
    from cairn.tracking.client import TrackingClient

    version = resolve_model_version(TrackingClient(tracking_uri).registry_store, uri)
    label = f"{version.name}/{version.version}"
    return ResolvedModel(uri, f"models:/{label}", label, version.name, str(version.version))


@contextlib.contextmanager
def local_model(uri: str, log: Callable[[str], None]) -> Iterator[tuple[ResolvedModel, str]]:
    """The model pinned (the log says which version an alias named) and its local directory
    while the context lasts: a local path is used in place, anything else is downloaded into
    a temporary directory removed afterwards."""
    from cairn.models.uri import is_local, local_model_path

    resolved = resolve(uri)
    if resolved.follows_registry:
        log(f"{uri} resolved to version {resolved.version} of {resolved.name!r}.")
    if is_local(resolved.load_uri):
        yield resolved, local_model_path(resolved.load_uri)
        return
    with tempfile.TemporaryDirectory(prefix="cairn-model-") as scratch:
        yield resolved, local_model_path(resolved.load_uri, scratch)


def load(resolved: ResolvedModel, local_path: str | None = None) -> LoadedModel:
    """Load the pinned model (from ``local_path`` when the caller downloaded it already)."""
    import cairn.pyfunc

    model = cairn.pyfunc.load_model(local_path or resolved.load_uri)
    return LoadedModel(model, resolved.label)


def check_followable(resolved: ResolvedModel) -> None:
    """A clear error unless ``resolved`` came from a URI that can name another version later."""
    if not resolved.follows_registry:
        raise CairnError.invalid(
            f"--watch-alias needs a model URI that can move: models:/<name>@<alias>, "
            f"models:/<name>/latest or models:/<name>/<stage>; {resolved.uri!r} is fixed."
        )


class AliasWatcher:
    """Re-resolves an alias every ``interval_s`` and swaps in the version it moved to."""

    def __init__(
        self,
        resolved: ResolvedModel,
        interval_s: float,
        swap: Callable[[ResolvedModel, LoadedModel], None],
    ) -> None:
        check_followable(resolved)
        self.resolved = resolved
        self._interval_s = interval_s
        self._swap = swap
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cairn-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except CairnError as exc:
                _log.warning(
                    "Could not follow %s: %s (still serving %s)",
                    self.resolved.uri,
                    exc.message,
                    self.resolved.label,
                )
            except Exception:
                _log.exception(
                    "Could not follow %s (still serving %s)", self.resolved.uri, self.resolved.label
                )

    async def check(self) -> bool:
        """Resolve once more; load and swap if the alias moved. True if it did."""
        now = await asyncio.to_thread(resolve, self.resolved.uri)
        if now.load_uri == self.resolved.load_uri:
            return False
        loaded = await asyncio.to_thread(load, now)
        _log.warning(
            "%s moved from %s to %s: now serving %s",
            now.uri,
            self.resolved.label,
            now.label,
            now.label,
        )
        self.resolved = now
        self._swap(now, loaded)
        return True
