"""Where a project's code comes from: a local directory, a git repository or an archive.

``fetch(uri, version)`` returns a :class:`FetchedProject`: the directory to run in (after
``#subdir``), the source as it will be recorded, and the git commit when there is one. A local
directory runs in place, unless a ``version`` asks for another commit: then, like a remote
repository, it is cloned into a temporary directory that :meth:`FetchedProject.close` removes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from cairn.errors import CairnError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
_GIT_SCHEMES = ("git", "ssh", "git+ssh", "git+https", "git+http", "git+file", "file")


@dataclass
class FetchedProject:
    """A project's code on local disk, and what to record about where it came from."""

    directory: Path
    uri: str  # the source as recorded: absolute for local paths, "#subdir" kept
    kind: str  # "local", "git" or "archive"
    git_commit: str | None = None
    git_repo_url: str | None = None
    git_branch: str | None = None
    git_dirty: bool = False
    temp_dir: Path | None = None  # removed by close()

    def close(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None

    def __enter__(self) -> FetchedProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``repo#sub/dir`` -> (``repo``, ``sub/dir``); refuses a subdirectory that climbs out."""
    base, _, sub = uri.partition("#")
    sub = sub.strip("/")
    if sub and (os.path.isabs(sub) or ".." in Path(sub).parts):
        raise CairnError.invalid(
            f"Subdirectory {sub!r} in {uri!r} must be a relative path inside the project."
        )
    return base, sub


def is_git_uri(uri: str) -> bool:
    parsed = urlparse(uri)
    if parsed.scheme in _GIT_SCHEMES:
        return True
    if parsed.scheme in ("http", "https"):
        return not uri.lower().endswith(ARCHIVE_SUFFIXES)
    return uri.startswith("git@") and ":" in uri


def is_archive(uri: str) -> bool:
    return uri.lower().split("?", 1)[0].endswith(ARCHIVE_SUFFIXES)


def fetch(uri: str, version: str | None = None, *, work_dir: str | None = None) -> FetchedProject:
    """Make the project at ``uri`` available on local disk (see the module docstring)."""
    base, sub = split_subdirectory(uri.strip())
    if not base:
        raise CairnError.invalid("A project URI is needed: a directory, a git URI or an archive.")
    local = Path(os.path.expanduser(base))
    if not is_git_uri(base) and local.exists():
        if local.is_dir():
            return _local_directory(local.resolve(), sub, version, work_dir)
        if is_archive(base):
            return _archive(local.resolve(), str(local.resolve()), sub, version, work_dir)
        raise CairnError.invalid(
            f"{base!r} is a file, not a project: give its directory, a git URI or an archive "
            f"({', '.join(ARCHIVE_SUFFIXES)})."
        )
    if is_archive(base) and urlparse(base).scheme in ("http", "https"):
        return _downloaded_archive(base, sub, version, work_dir)
    if is_git_uri(base):
        return _clone(base, sub, version, work_dir)
    raise CairnError.invalid(
        f"Project {base!r} not found: it is neither a directory here nor a git or archive URI."
    )


def _with_sub(base: str, sub: str) -> str:
    return f"{base}#{sub}" if sub else base


def _subdirectory(root: Path, sub: str, uri: str) -> Path:
    directory = (root / sub).resolve() if sub else root
    if not directory.is_dir():
        raise CairnError.invalid(f"{uri!r}: there is no directory {sub!r} in the project.")
    return directory


# ----------------------------------------------------------------------------- local


def _local_directory(
    root: Path, sub: str, version: str | None, work_dir: str | None
) -> FetchedProject:
    top = git_toplevel(root)
    if version is not None:
        if top is None:
            raise CairnError.invalid(
                f"--version {version!r} needs a git repository, and {str(root)!r} is not in one."
            )
        # The directory may sit below the repository root: keep its place after cloning.
        inner = root.relative_to(top) / sub
        recorded = _with_sub(str(root), sub)
        return _clone(
            str(top), "" if str(inner) == "." else str(inner), version, work_dir, recorded
        )
    directory = _subdirectory(root, sub, str(root))
    fetched = FetchedProject(directory, _with_sub(str(root), sub), "local")
    if top is not None:
        fetched.git_commit = _git(top, "rev-parse", "HEAD")
        fetched.git_branch = _branch(top)
        fetched.git_repo_url = _git(top, "config", "--get", "remote.origin.url", check=False)
        fetched.git_dirty = bool(_git(top, "status", "--porcelain", "--", str(directory)))
    return fetched


def git_toplevel(path: Path) -> Path | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        return None
    top = Path(done.stdout.strip()).resolve()
    head = subprocess.run(
        ["git", "-C", str(top), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
        check=False,
    )
    return top if head.returncode == 0 else None  # a repository with no commit yet: not git


# ----------------------------------------------------------------------------- git


def _git(repo: Path, *args: str, check: bool = True) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        if check:
            raise CairnError.invalid(f"git {' '.join(args)} failed: {done.stderr.strip()}")
        return None
    return done.stdout.strip()


def _branch(repo: Path) -> str | None:
    name = _git(repo, "rev-parse", "--abbrev-ref", "HEAD", check=False)
    return name if name and name != "HEAD" else None


def _clone(
    url: str, sub: str, version: str | None, work_dir: str | None, recorded: str | None = None
) -> FetchedProject:
    """Clone ``url`` and check out ``version`` (a branch, tag or commit; default HEAD).

    ``sub`` is the project's path inside the repository; ``recorded`` the source to record when
    it differs from ``url#sub`` (a local directory below its repository's root).
    """
    if shutil.which("git") is None:
        raise CairnError.invalid(f"Running {url!r} needs git, which is not on PATH.")
    temp = Path(tempfile.mkdtemp(prefix="cairn-project-", dir=work_dir))
    checkout = temp / "repo"
    try:
        clone_url = url[len("git+") :] if url.startswith("git+") else url
        done = subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", clone_url, str(checkout)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if done.returncode != 0:
            raise CairnError.invalid(f"Could not clone {url!r}: {done.stderr.strip()}")
        target, branch = "HEAD", None
        if version is not None:
            if _commit_of(checkout, f"origin/{version}"):
                target, branch = f"origin/{version}", version  # a branch: its remote tip
            elif _commit_of(checkout, version):
                target = version
            else:
                raise CairnError.invalid(
                    f"Version {version!r} is not a branch, tag or commit of {url!r}."
                )
        _git(checkout, "checkout", "--quiet", "--detach", target)
        directory = _subdirectory(checkout, sub, recorded or url)
        return FetchedProject(
            directory,
            recorded or _with_sub(url, sub),
            "git",
            git_commit=_git(checkout, "rev-parse", "HEAD"),
            git_repo_url=url,
            git_branch=branch,
            temp_dir=temp,
        )
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _commit_of(repo: Path, name: str) -> str | None:
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)


# ----------------------------------------------------------------------------- archives


def _downloaded_archive(
    url: str, sub: str, version: str | None, work_dir: str | None
) -> FetchedProject:
    from cairn.projects.downloads import download_url

    temp = Path(tempfile.mkdtemp(prefix="cairn-project-", dir=work_dir))
    target = temp / (Path(urlparse(url).path).name or "project.tar.gz")
    try:
        download_url(url, target)
    except CairnError as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise CairnError.invalid(f"Could not download {url!r}: {error.message}") from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return _archive(target, url, sub, version, work_dir, temp)


def _archive(
    path: Path,
    recorded: str,
    sub: str,
    version: str | None,
    work_dir: str | None,
    temp: Path | None = None,
) -> FetchedProject:
    if version is not None:
        raise CairnError.invalid(
            f"--version applies to git projects, not to the archive {recorded!r}."
        )
    temp = temp or Path(tempfile.mkdtemp(prefix="cairn-project-", dir=work_dir))
    out = temp / "extracted"
    try:
        out.mkdir()
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if os.path.isabs(member) or ".." in Path(member).parts:
                        raise CairnError.invalid(
                            f"{recorded!r} holds {member!r}, outside the archive's directory."
                        )
                archive.extractall(out)
        else:
            try:
                with tarfile.open(path) as archive:
                    archive.extractall(out, filter="data")
            except tarfile.TarError as error:
                raise CairnError.invalid(
                    f"{recorded!r} is not a readable archive: {error}"
                ) from None
        entries = [p for p in out.iterdir() if not p.name.startswith(".")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else out
        directory = _subdirectory(root, sub, recorded)
        return FetchedProject(directory, _with_sub(recorded, sub), "archive", temp_dir=temp)
    except zipfile.BadZipFile as error:
        shutil.rmtree(temp, ignore_errors=True)
        raise CairnError.invalid(f"{recorded!r} is not a readable archive: {error}") from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
