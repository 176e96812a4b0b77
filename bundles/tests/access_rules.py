"""Access rows for the bundles API (see testing/access_table.py), as in the DESIGN.md role table."""

from testing.access_table import ADMINS, ENGINEERS, VIEWERS, Access

TRACE_ID = "0123456789abcdef0123456789abcdef"

ACCESS_RULES = {
    "trace-export": (
        Access("POST", kwargs={"trace_id": TRACE_ID}, data={}, allowed=VIEWERS, label="strict, no payloads"),
        Access(
            "POST",
            kwargs={"trace_id": TRACE_ID},
            data={"include_payloads": True, "redaction": "standard"},
            allowed=ENGINEERS,
            label="payloads, standard",
        ),
        Access(
            "POST",
            kwargs={"trace_id": TRACE_ID},
            data={"redaction": "off"},
            allowed=ADMINS,
            label="redaction off",
        ),
    ),
    "trace-dry-replay": (Access("POST", kwargs={"trace_id": TRACE_ID}, data={}, allowed=ENGINEERS),),
    "bundle-import": (Access("POST", data={}, format="multipart", allowed=ENGINEERS),),
    "bundle-dry-replay": (Access("POST", data={}, format="multipart", allowed=ENGINEERS),),
}
