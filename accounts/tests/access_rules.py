"""Access rows for the `/api/` endpoints of accounts and of the site's URL conf (see testing/access_table.py)."""

from testing.access_table import EVERY_SIGNED_IN_USER, VIEWERS, Access

ACCESS_RULES = {
    "api-me": (Access("GET", allowed=EVERY_SIGNED_IN_USER),),
    "api-schema": (Access("GET", allowed=VIEWERS),),
}
