"""Access rows for the payload endpoints (see testing/access_table.py)."""

from testing.access_table import ENGINEERS, NOBODY, Access

REF = "sha256:" + "ab" * 32

ACCESS_RULES = {
    # Contents: engineers and admins; viewers get 403 with nothing of the content.
    "payload-content": (Access("GET", kwargs={"ref": REF}, allowed=ENGINEERS),),
    # Upload: only an ingest key opens it, so a signed-in user is as anonymous as anyone (401).
    "payload-upload": (Access("POST", allowed=NOBODY, data={"x": 1}, denied_status=401),),
}
