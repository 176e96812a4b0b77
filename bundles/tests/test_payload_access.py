"""`bundles.payload_access`: refs found on spans and events, payloads redacted again on export with the refs
and sizes rewritten to match, bundle payloads checked and stored under the stricter mode, stored blobs read
back for dry replay."""

from dataclasses import replace

import pytest

from bundles import payload_access
from bundles.tests.factories import otlp_spans
from bundles.verification import BundlePayload
from payloads import refs
from payloads.contracts import RedactionMode
from payloads.hashing import sha256_hex
from payloads.ingest import store_payload
from payloads.models import PayloadBlob
from testing.factories import SpanSpec, export_request

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EMAIL = "dana.fischer@example.org"


def _span_with_refs(attributes: dict[str, object], event_attributes: dict[str, object] | None = None):
    events = [("gen_ai.choice", event_attributes)] if event_attributes else []
    [span] = otlp_spans([SpanSpec(TRACE, "a" * 16, "chat", attributes=attributes, events=events)])
    return span


def test_referenced_shas_come_from_span_and_event_refs_only() -> None:
    span = _span_with_refs(
        {refs.ref_key("input"): refs.ref_value("a" * 64), "tracefoundry.payload.input": "not a ref"},
        {refs.ref_key("output"): refs.ref_value("b" * 64), refs.ref_key("odd"): "sha256:short"},
    )

    assert payload_access.referenced_shas([span]) == {"a" * 64, "b" * 64}


def test_renamed_refs_and_their_sizes_are_rewritten_on_span_and_events() -> None:
    new = payload_access.Renamed("c" * 64, 12)
    span = _span_with_refs(
        {refs.ref_key("input"): refs.ref_value("a" * 64), refs.size_key("input"): 40},
        {refs.ref_key("input"): refs.ref_value("a" * 64)},
    )

    renamed = payload_access.rename_span_refs(span, {"a" * 64: new})

    assert renamed.attributes == {refs.ref_key("input"): refs.ref_value("c" * 64), refs.size_key("input"): 12}
    assert renamed.events[0]["attributes"] == {refs.ref_key("input"): refs.ref_value("c" * 64)}


def test_renamed_refs_are_rewritten_in_a_decoded_request() -> None:
    request = export_request(
        [
            SpanSpec(
                TRACE,
                "a" * 16,
                "chat",
                attributes={refs.ref_key("input"): refs.ref_value("a" * 64), refs.size_key("input"): 40},
            )
        ]
    )

    payload_access.rename_request_refs(request, {"a" * 64: payload_access.Renamed("c" * 64, 12)})

    attributes = {kv.key: kv.value for kv in request.resource_spans[0].scope_spans[0].spans[0].attributes}
    assert attributes[refs.ref_key("input")].string_value == refs.ref_value("c" * 64)
    assert attributes[refs.size_key("input")].int_value == 12


@pytest.mark.django_db
def test_export_redacts_payloads_again_and_points_the_refs_at_the_new_content() -> None:
    stored = store_payload(f"write to {EMAIL}".encode(), "text/plain; charset=utf-8", RedactionMode.STANDARD)
    span = _span_with_refs({refs.ref_key("input"): stored.ref, refs.size_key("input"): stored.size_bytes})

    exported = payload_access.export_payloads([span], RedactionMode.STRICT)

    [payload] = exported.payloads
    assert EMAIL.encode() not in payload.content
    assert payload.sha256 == sha256_hex(payload.content) != stored.sha256
    assert exported.spans[0].attributes == {
        refs.ref_key("input"): refs.ref_value(payload.sha256),
        refs.size_key("input"): len(payload.content),
    }


@pytest.mark.django_db
def test_export_under_the_stored_mode_keeps_names_and_leaves_out_what_is_not_stored() -> None:
    stored = store_payload(b"plain words", "text/plain; charset=utf-8", RedactionMode.STANDARD)
    span = _span_with_refs({refs.ref_key("input"): stored.ref, refs.ref_key("output"): refs.ref_value("d" * 64)})

    exported = payload_access.export_payloads([span], RedactionMode.STANDARD)

    assert [payload.sha256 for payload in exported.payloads] == [stored.sha256]
    assert exported.spans == [span]


def test_bundle_payloads_that_cannot_be_stored_are_named() -> None:
    payloads = [
        BundlePayload("1" * 64, b"\xff\xfe", "text/plain; charset=utf-8"),
        BundlePayload("2" * 64, b"plain text", "application/json"),
        BundlePayload("3" * 64, b'{"ok": true}', "application/json"),
    ]

    assert payload_access.payload_problems(payloads) == [
        f"payloads/{'1' * 64}: not UTF-8 text",
        f"payloads/{'2' * 64}: declared application/json but is not a JSON document",
    ]


@pytest.mark.django_db
def test_bundle_payloads_are_stored_under_the_stricter_mode(settings) -> None:
    settings.REDACTION_MODE = "standard"
    content = f"mail {EMAIL}".encode()

    renamed = payload_access.store_payloads([BundlePayload(sha256_hex(content), content, "text/plain")], "strict")

    [(old, new)] = renamed.items()
    assert old == sha256_hex(content)
    assert PayloadBlob.objects.get(sha256=new.sha256).redaction_mode == RedactionMode.STRICT


@pytest.mark.django_db
def test_stored_blobs_are_read_back_and_unknown_ones_left_unresolved() -> None:
    stored = store_payload(b"some content", "text/plain; charset=utf-8")

    check = payload_access.check_stored({stored.sha256, "e" * 64})

    assert check.resolved == {stored.sha256}
    assert check.contents == {stored.sha256: b"some content"}
    assert check.problems == []


def test_a_span_without_renamed_refs_is_returned_as_it_is() -> None:
    span = _span_with_refs({refs.ref_key("input"): refs.ref_value("a" * 64)})

    assert payload_access.rename_span_refs(span, {}) is span
    assert payload_access.rename_span_refs(span, {"b" * 64: payload_access.Renamed("c" * 64, 1)}) == replace(span)
