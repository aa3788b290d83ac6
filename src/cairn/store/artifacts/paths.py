"""The one place artifact paths are confined to their repository's root.

Artifact paths come from users and over HTTP, so every store resolves them through
:func:`resolve_inside`; nothing else joins a user path onto a root. Paths are relative and use
``/`` like MLflow's, whatever the operating system.
"""

from __future__ import annotations

import posixpath
from pathlib import Path, PureWindowsPath
from urllib.parse import unquote

from cairn.errors import CairnError


def _refuse(path: str, reason: str) -> CairnError:
    return CairnError.invalid(f"Invalid artifact path {path!r}: {reason}.")


def _check(path: str, original: str) -> list[str]:
    """The path's components once it is known not to leave the root; raises otherwise."""
    if "\x00" in path:
        raise _refuse(original, "it contains a NUL byte")
    if "\\" in path:
        raise _refuse(original, "it contains a backslash; use '/' to separate components")
    if path.startswith("/") or PureWindowsPath(path).anchor:
        raise _refuse(original, "it must be relative, not absolute")
    parts = path.split("/")
    if ".." in parts:
        raise _refuse(original, "it may not contain '..'")
    return [p for p in parts if p not in ("", ".")]


def safe_relative_path(path: str | None) -> str:
    """Normalize a user-given artifact path ('' is the root) or refuse it.

    Empty and ``.`` components are dropped (``a//./b/`` is ``a/b``). The path is also checked
    once percent-decoded, because an HTTP layer or object store may decode it later: encoded
    traversal (``%2e%2e``) and encoded separators (``%2F``, ``%5C``) are refused.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise CairnError.invalid(f"Invalid artifact path {path!r}: it must be a string.")
    parts = _check(path, path)
    decoded = unquote(path)
    if decoded != path:
        _check(decoded, path)
        if decoded.count("/") != path.count("/"):
            raise _refuse(path, "it contains a percent-encoded '/'")
    return "/".join(parts)


def resolve_inside(root: Path, rel: str | None) -> Path:
    """The real location of artifact path ``rel`` under ``root``, refusing any escape.

    Symlinks are resolved first, so a link inside the root that points outside it is refused
    whether the caller means to read or to write. The target itself need not exist yet.
    """
    clean = safe_relative_path(rel)
    real_root = root.resolve()
    try:
        target = (real_root / clean).resolve() if clean else real_root
    except (OSError, RuntimeError) as exc:  # a symlink loop: RuntimeError before Python 3.13
        raise _refuse(rel or "", f"it cannot be resolved ({exc})") from exc
    if not target.is_relative_to(real_root):
        raise _refuse(rel or "", "it resolves (through a symlink) to a location outside the root")
    return target


def join_uri(root: str, *parts: str) -> str:
    """Append path parts to a local path or a URI (``s3://b/p``) without mangling the scheme."""
    if "://" in root or root.startswith("mlflow-artifacts:"):
        return posixpath.join(root, *parts)
    return str(Path(root).joinpath(*parts))
