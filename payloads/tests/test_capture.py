"""`SpanCapture` masks a span in one pass: what it leaves on the span is what `redact_span_parts` gives."""

import pytest

from payloads.capture import SpanCapture
from payloads.contracts import OtlpSpan
from payloads.redaction import DROPPED_ATTRIBUTES_KEY, SpanParts, redact_span_parts, redactor_for
from payloads.refs import public_value

SECRET = "sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ"
EMAIL = "jane.roe@example.org"


def span(attributes: dict, resource: dict | None = None) -> OtlpSpan:
    return OtlpSpan(
        trace_id="5b8efff798038103d269b633813fc60c",
        span_id="eee19b7ec3c1b174",
        parent_span_id="",
        name=f"call with {SECRET}",
        kind=3,
        start_unix_nano=1,
        end_unix_nano=2,
        status_code=2,
        status_message=f"failed for {EMAIL}",
        trace_state="",
        flags=0,
        attributes=attributes,
        resource_attributes=resource or {"service.name": "svc", "host.owner": EMAIL},
        events=[
            {"name": "retry", "time_unix_nano": 1, "attributes": {"reason": SECRET, "custom.note": EMAIL}},
        ],
        links=[{"trace_id": "ab" * 16, "span_id": "cd" * 8, "trace_state": "", "attributes": {"why": EMAIL}}],
        scope={"name": "lib", "version": "1", "attributes": {"owner": EMAIL}},
    )


ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "http.request.header.authorization": f"Bearer {SECRET}",
    "custom.owner": EMAIL,
    "custom.nested": {"list": [SECRET, 3, {"deep": EMAIL}]},
    "custom.count": 7,
    f"custom.{SECRET}": "key holding a secret",
    "tracefoundry.payload.input_ref": "sha256:" + "a" * 64,
    "tracefoundry.payload.input_size": 10,
    DROPPED_ATTRIBUTES_KEY: 2,
}


@pytest.mark.parametrize("mode", ["off", "standard", "strict"])
def test_capture_leaves_what_redact_span_parts_gives(mode: str) -> None:
    original = span(dict(ATTRIBUTES))
    captured = SpanCapture(redactor_for(mode)).capture(original)
    expected = redact_span_parts(
        SpanParts(
            name=original.name,
            status_message=original.status_message,
            trace_state=original.trace_state,
            attributes=original.attributes,
            resource_attributes=original.resource_attributes,
            events=original.events,
            links=original.links,
            scope=original.scope,
        ),
        redactor_for(mode),
    )
    assert captured.payloads == ()
    assert [(ref.role, ref.sha256) for ref in captured.declared_refs] == [("input", "a" * 64)]
    result = captured.span
    assert result.name == expected.name
    assert result.status_message == expected.status_message
    # The content ref an SDK declared is shown as its public ref.
    assert result.attributes == {**expected.attributes, "tracefoundry.payload.input_ref": public_value("a" * 64)}
    assert list(result.attributes) == list(expected.attributes)
    assert result.resource_attributes == expected.resource_attributes
    assert result.events == expected.events
    assert result.links == expected.links
    assert result.scope == expected.scope
    if mode != "off":
        assert SECRET not in repr(result)
    if mode == "strict":
        assert EMAIL not in repr(result)
        # custom.* is outside the allowlist: 4 span attributes, 1 event, 1 link and 1 resource attribute dropped.
        assert result.attributes[DROPPED_ATTRIBUTES_KEY] > 2


def test_payload_attributes_leave_the_span_and_are_redacted() -> None:
    captured = SpanCapture(redactor_for("standard")).capture(
        span({"gen_ai.input.messages": f'[{{"role": "user", "content": "use {SECRET}"}}]', "custom.count": 1})
    )
    assert "gen_ai.input.messages" not in captured.span.attributes
    [payload] = captured.payloads
    assert SECRET.encode() not in payload.content
    assert b"[REDACTED:openai_api_key]" in payload.content
    assert captured.span.attributes[f"tracefoundry.payload.{payload.role}_ref"] == public_value(payload.sha256)
    assert captured.span.attributes[f"tracefoundry.payload.{payload.role}_size"] == len(payload.content)
