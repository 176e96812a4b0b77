"""LLM client libraries whose releases cannot share the project's venv, each run from a venv of its own.

Google ADK pins an older opentelemetry-api than the project's, and traceloop-sdk pins OpenLLMetry
instrumentations the project's venv has other releases of. Each has a test-only folder under `testing/` with a
pinned `requirements.txt`; `make test-sqlite` and `make test-postgres` create `<folder>/.venv` from it (git-ignored),
as they `npm ci` the Vercel AI SDK's folder.
"""

from pathlib import Path

TESTING = Path(__file__).resolve().parent
FOLDERS = {"google-adk": TESTING / "google_adk", "traceloop-sdk": TESTING / "traceloop"}


def python_of(library: str) -> Path | None:
    """The interpreter of the library's own venv, or None when the library runs in the project's venv."""
    folder = FOLDERS.get(library)
    return folder / ".venv" / "bin" / "python" if folder else None
