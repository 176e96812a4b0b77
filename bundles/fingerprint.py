"""What a bundle records about the installation that exported it: versions, platform and git commit.

The git commit is `git rev-parse HEAD` in the project directory when that works, else the GIT_COMMIT setting
(set it in images built without the .git folder), else None.
"""

import importlib.metadata
import platform
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path

from django.conf import settings

from payloads.contracts import JsonValue

FINGERPRINT_PACKAGES = ("Django", "djangorestframework", "protobuf", "opentelemetry-proto")
_GIT_TIMEOUT_SECONDS = 2
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def environment_fingerprint() -> dict[str, JsonValue]:
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {name: _package_version(name) for name in FINGERPRINT_PACKAGES},
    }


@cache
def tracefoundry_version() -> str:
    with open(_PYPROJECT, "rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def git_commit() -> str | None:
    return _git_head() or (settings.GIT_COMMIT or None)


def _git_head() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
            [git, "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) in (40, 64) else None


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
