"""Whether a Docker engine can be used here: one check for every command that needs one
(`cairn models build-docker`, `cairn run --env-manager docker`)."""

from __future__ import annotations

import shutil
import subprocess

from cairn.errors import CairnError


def check_docker_engine(hint: str, docker: str = "docker") -> None:
    """Raise a one-line :class:`CairnError` ending with ``hint`` (what to do instead) unless
    the Docker CLI is installed and ``docker info`` reaches an engine."""
    if shutil.which(docker) is None:
        raise CairnError.invalid(f"The docker command was not found on PATH. {hint}")
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise CairnError.invalid(
            f"The Docker engine did not answer `docker info` within 60 s. {hint}"
        ) from None
    except OSError as error:
        raise CairnError.invalid(f"docker could not be started ({error}). {hint}") from None
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    if done.returncode != 0 or not done.stdout.strip():
        why = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise CairnError.invalid(f"No Docker engine is reachable (docker info: {why}). {hint}")
