"""The committed OpenAPI schema (`frontend/openapi.yaml`, the explorer's type source) matches the code."""

import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

SCHEMA_FILE = Path(settings.BASE_DIR) / "frontend" / "openapi.yaml"


def test_committed_schema_has_not_drifted() -> None:
    generated = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=generated)
    assert generated.getvalue() == SCHEMA_FILE.read_text(), (
        "the API changed: run `make openapi` and commit frontend/openapi.yaml and frontend/src/lib/api-schema.d.ts"
    )
