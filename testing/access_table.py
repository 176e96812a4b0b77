"""The expected access table of `/api/`: who may call each endpoint, keyed by URL name.

`accounts/tests/test_api_access.py` lists every `/api/` route from the URL conf and fails for a route (or an
HTTP method of it) that has no row here, for a row whose route no longer exists, and for every persona whose
answer differs from its row. Each app keeps its rows in `<app>/tests/access_rules.py`:

    from testing.access_table import ENGINEERS, Access

    ACCESS_RULES = {
        "payload-detail": (Access("GET", kwargs={"ref": "sha256:" + "0" * 64}, allowed=ENGINEERS),),
    }

A persona in `allowed` must get neither 401 nor 403 (nor a 5xx; 400 and 404 are fine, the request need not
make sense); every other signed-in persona must get `denied_status`, anonymous callers `anonymous_status`.
Rows follow the DESIGN.md role table; the permission class an endpoint uses is in accounts/permissions.py.
"""

from dataclasses import dataclass, field
from typing import Any

ANONYMOUS = "anonymous"
NO_GROUP = "no_group"
VIEWER = "viewer"
ENGINEER = "engineer"
ADMIN = "admin"
SUPERUSER = "superuser"

SIGNED_IN_PERSONAS: tuple[str, ...] = (NO_GROUP, VIEWER, ENGINEER, ADMIN, SUPERUSER)

ADMINS = frozenset({ADMIN, SUPERUSER})
ENGINEERS = ADMINS | {ENGINEER}
VIEWERS = ENGINEERS | {VIEWER}
EVERY_SIGNED_IN_USER = VIEWERS | {NO_GROUP}
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Access:
    """One request to one endpoint and who may make it.

    `data` is the query for GET and the body otherwise, sent as `format` ("json" or "multipart").
    """

    method: str
    allowed: frozenset[str]
    kwargs: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    format: str = "json"
    denied_status: int = 403
    anonymous_status: int = 401
    label: str = ""
