"""Directory uploads and downloads for every artifact store: files in parallel, with progress.

Big models are many files; sending them one after another leaves the network idle between
requests. Each store keeps its single-file operations and hands them here, so the walk, the
bounded thread pool, error naming and the progress bar live in one place. A failure in any
file fails the whole call naming that file; downloads write to a temp name and rename, so a
failed download never leaves a half-written file under a real name.
"""

from __future__ import annotations

import os
import posixpath
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from cairn.errors import INTERNAL_ERROR, CairnError
from cairn.store.artifacts.paths import safe_relative_path
from cairn.store.artifacts.protocol import FileInfo

WORKERS_ENV = "CAIRN_ARTIFACT_WORKERS"
DEFAULT_WORKERS = 8
_PARTIAL_PREFIX = ".cairn-partial-"

# ``progress`` arguments: ``True``/``False`` force the bar on or off; ``None`` shows it when
# stderr is a terminal; a rich Console shows it there (how tests capture it).


class _Lister(Protocol):
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]: ...


def worker_count() -> int:
    """How many files move at once: ``CAIRN_ARTIFACT_WORKERS`` (default 8), at least 1."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    try:
        value = int(raw)
    except ValueError:
        raise CairnError.invalid(
            f"{WORKERS_ENV} must be a positive integer; got {raw!r}."
        ) from None
    if value < 1:
        raise CairnError.invalid(f"{WORKERS_ENV} must be a positive integer; got {raw!r}.")
    return value


def _join(base: str, name: str) -> str:
    return posixpath.join(base, name) if base and name else base or name


class _Bar:
    """Files and bytes done; a no-op unless asked for or stderr is a terminal."""

    def __init__(self, progress: Any, verb: str, files: int, total_bytes: int) -> None:
        self._progress: Any = None
        self._lock = threading.Lock()
        self._files_total = files
        self._files_done = 0
        if progress is False or files == 0:
            return
        if progress is None and not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = progress if isinstance(progress, Console) else Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[files]}"),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(verb, total=total_bytes, files=self._files_text())

    def _files_text(self) -> str:
        return f"{self._files_done}/{self._files_total} files"

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, size: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._files_done += 1
            self._progress.update(self._task, advance=size, files=self._files_text())


def _run(jobs: list[tuple[str, int, Callable[[], None]]], verb: str, progress: Any) -> None:
    """Run ``(name, size, action)`` jobs on the pool; the first failure, naming its file,
    cancels what has not started and is raised once running jobs end."""
    if not jobs:
        return
    total = sum(size for _, size, _ in jobs)
    with _Bar(progress, verb, len(jobs), total) as bar:
        workers = min(worker_count(), len(jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cairn-artifacts") as pool:
            futures: dict[Future[None], tuple[str, int]] = {
                pool.submit(action): (name, size) for name, size, action in jobs
            }
            pending = set(futures)
            failure: tuple[str, BaseException] | None = None
            while pending and failure is None:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    name, size = futures[future]
                    exc = future.exception()
                    if exc is None:
                        bar.advance(size)
                    elif failure is None:
                        failure = (name, exc)
            for future in pending:
                future.cancel()
    if failure is not None:
        name, exc = failure
        if isinstance(exc, CairnError):
            raise CairnError(f"{verb} {name!r} failed: {exc.message}", exc.error_code) from exc
        raise CairnError(f"{verb} {name!r} failed: {exc}", INTERNAL_ERROR) from exc


def walk_tree(local_dir: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(files as (local path, '/'-path), directories as '/'-paths) under ``local_dir``.

    Symlinked directories are not followed (no loops); files behind symlinks are.
    """
    source = Path(local_dir)
    if not source.is_dir():
        raise CairnError.not_found(f"Local directory {local_dir!r} does not exist.")
    files: list[tuple[str, str]] = []
    dirs: list[str] = []
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = Path(dirpath).relative_to(source).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        dirs.extend(
            _join(rel_dir, name)
            for name in dirnames
            if not os.path.islink(os.path.join(dirpath, name))
        )
        files.extend((os.path.join(dirpath, name), _join(rel_dir, name)) for name in filenames)
    return files, dirs


def upload_tree(
    local_dir: str,
    artifact_path: str | None,
    upload_file: Callable[[str, str], None],
    *,
    make_dir: Callable[[str], None] | None = None,
    progress: Any = None,
) -> None:
    """``log_artifacts`` for any store: ``upload_file(local path, artifact file)`` per file, in
    parallel; ``make_dir(artifact dir)`` first for each directory, for stores that keep empty
    ones. ``progress`` is ``True``/``False``, ``None`` (a terminal decides) or a rich Console.
    """
    base = safe_relative_path(artifact_path)
    files, dirs = walk_tree(local_dir)
    if make_dir is not None:
        make_dir(base)
        for rel in dirs:
            make_dir(_join(base, rel))

    def job(source: str, rel: str) -> tuple[str, int, Callable[[], None]]:
        try:
            size = os.path.getsize(source)
        except OSError:
            size = 0  # a file that vanished fails in upload_file, named
        dest = _join(base, rel)
        return source, size, lambda: upload_file(source, dest)

    _run([job(source, rel) for source, rel in files], "Uploading", progress)


def _fetch_atomically(fetch_file: Callable[[str, Path], None], path: str, dest: Path) -> None:
    tmp = dest.parent / f"{_PARTIAL_PREFIX}{uuid.uuid4().hex}-{dest.name}"
    try:
        fetch_file(path, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def download_tree(
    repo: _Lister,
    artifact_path: str | None,
    dst_path: str | None,
    fetch_file: Callable[[str, Path], None],
    *,
    progress: Any = None,
    dir_identity: Callable[[str], object] | None = None,
) -> str:
    """``download_artifacts`` for any store that can list and fetch single files.

    A path with children is a directory; anything else is fetched as a file, and
    ``fetch_file(rel, dest)`` raises RESOURCE_DOES_NOT_EXIST if it is missing. The listing is
    walked first, then files come down in parallel, each to a temp name renamed when whole.
    ``dir_identity`` (the local store's real paths) lets a walk skip a directory seen before,
    so symlink loops end. Listed names were confined by the store, so files stay under
    ``dst_path``.
    """
    rel = safe_relative_path(artifact_path)
    dst_root = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
    dest = dst_root / rel if rel else dst_root
    entries = repo.list_artifacts(rel)
    if not entries and rel:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _fetch_atomically(fetch_file, rel, dest)
        return str(dest)

    jobs: list[tuple[str, int, Callable[[], None]]] = []
    seen: set[object] = set()

    def collect(path: str, entries: list[FileInfo], into: Path) -> None:
        if dir_identity is not None:
            identity = dir_identity(path)
            if identity in seen:
                return
            seen.add(identity)
        into.mkdir(parents=True, exist_ok=True)
        for info in entries:
            child = into / posixpath.basename(info.path)
            if info.is_dir:
                collect(info.path, repo.list_artifacts(info.path), child)
            else:
                jobs.append(
                    (
                        info.path,
                        info.file_size or 0,
                        lambda p=info.path, c=child: _fetch_atomically(fetch_file, p, c),
                    )
                )

    collect(rel, entries, dest)
    _run(jobs, "Downloading", progress)
    return str(dest)
