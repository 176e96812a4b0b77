"""Settings from arguments and the environment, and redaction with the server's policy format."""

import json
from pathlib import Path

import pytest
from tracefoundry.config import ConfigurationError, resolve_settings
from tracefoundry.redaction import build_redactor, default_policy_text, load_patterns, parse_patterns

REPO = Path(__file__).resolve().parents[3]


def test_the_bundled_policy_is_the_servers_default_policy() -> None:
    assert default_policy_text() == (REPO / "deploy" / "trace-allowlist.yaml").read_text(encoding="utf-8")


def test_the_bundled_policy_parses_with_the_servers_free_text_threshold() -> None:
    assert "free_text_payload_min_chars: 200" in default_policy_text()
    assert "openai_api_key" in {pattern.name for pattern in load_patterns()}
    assert parse_patterns({"version": 1, "free_text_payload_min_chars": 200, "patterns": []}) == []


def test_environment_fills_in_what_arguments_leave_out() -> None:
    settings = resolve_settings(
        environ={
            "TRACEFOUNDRY_URL": "http://traces.internal:8000/",
            "TRACEFOUNDRY_INGEST_KEY": "tfi_abc",
            "TRACEFOUNDRY_REDACTION_MODE": "Strict",
            "TRACEFOUNDRY_PAYLOAD_DIR": "var/payloads",
            "OTEL_SERVICE_NAME": "billing-agent",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=blue,x-note=a%20b",
        }
    )
    assert settings.url == "http://traces.internal:8000"
    assert settings.otlp_endpoint == "http://traces.internal:8000/otlp/v1/traces"
    assert settings.payloads_url == "http://traces.internal:8000/api/payloads"
    assert settings.headers == {"x-tenant": "blue", "x-note": "a b", "Authorization": "Bearer tfi_abc"}
    assert (settings.service_name, settings.redaction_mode, settings.payload_dir) == (
        "billing-agent",
        "strict",
        "var/payloads",
    )
    assert settings.compression == "gzip"
    assert settings.capture_payloads is True


def test_otlp_variables_choose_the_endpoint_unless_a_server_url_is_given() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_COMPRESSION": "none"}
    assert resolve_settings(environ=env).otlp_endpoint == "http://collector:4318/v1/traces"
    assert resolve_settings(environ=env).compression == "none"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://collector:4318/custom"
    assert resolve_settings(environ=env).otlp_endpoint == "http://collector:4318/custom"
    assert resolve_settings(url="http://tf:8000", environ=env).otlp_endpoint == "http://tf:8000/otlp/v1/traces"
    assert resolve_settings(otlp_endpoint="http://x/v1/traces", environ=env).otlp_endpoint == "http://x/v1/traces"
    assert resolve_settings(environ={}).otlp_endpoint == "http://127.0.0.1:8000/otlp/v1/traces"


def test_bad_values_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError, match="redaction mode 'loose'"):
        resolve_settings(environ={"TRACEFOUNDRY_REDACTION_MODE": "loose"})
    with pytest.raises(ConfigurationError, match="expected a boolean"):
        resolve_settings(environ={"TRACEFOUNDRY_CAPTURE_PAYLOADS": "maybe"})
    assert resolve_settings(environ={"TRACEFOUNDRY_CAPTURE_PAYLOADS": "off"}).capture_payloads is False


@pytest.mark.parametrize(
    ("text", "standard", "strict"),
    [
        (
            "key sk-proj-abcdefghijklmnopqrstuvwx",
            "key [REDACTED:openai_api_key]",
            "key [REDACTED:openai_api_key]",
        ),
        (
            "postgres://app:Hunter2Hunter2@db:5432/x",
            "postgres://app:[REDACTED:url_password]@db:5432/x",
            "postgres://app:[REDACTED:url_password]@db:5432/x",
        ),
        (
            "Authorization: Bearer abc.def.ghi-123",
            "Authorization: Bearer [REDACTED:bearer_token]",
            "Authorization: Bearer [REDACTED:bearer_token]",
        ),
        ("card 4242 4242 4242 4242 ok", "card [REDACTED:card_number] ok", "card [REDACTED:card_number] ok"),
        ("order 4242 4242 4242 4241 ok", "order 4242 4242 4242 4241 ok", "order 4242 4242 4242 4241 ok"),
        ("mail jane@example.com", "mail jane@example.com", "mail [REDACTED:email]"),
        ("call +1 415 555 0134 now", "call +1 415 555 0134 now", "call [REDACTED:phone_number] now"),
        ("AKIAABCDEFGHIJKLMNOP in", "[REDACTED:aws_access_key_id] in", "[REDACTED:aws_access_key_id] in"),
    ],
)
def test_patterns_mask_by_class_and_mode(text: str, standard: str, strict: str) -> None:
    assert build_redactor("standard").redact(text) == (standard, standard != text)
    assert build_redactor("strict").redact(text) == (strict, strict != text)
    assert build_redactor("off").redact(text) == (text, False)


def test_redaction_is_idempotent_so_the_server_computes_the_same_ref() -> None:
    redactor = build_redactor("strict")
    once, _ = redactor.redact("token=Abcdef123456 and ghp_" + "x" * 36 + " and eyJhbGciOi.eyJzdWIiOiIx.sig")
    assert redactor.redact(once) == (once, False)


def test_a_custom_policy_file_is_read(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\npatterns:\n  - {name: ticket, class: credential, regex: 'TKT-[0-9]{6}'}\n")
    assert build_redactor("standard", policy).redact("see TKT-123456") == ("see [REDACTED:ticket]", True)


def _corpus(name: str) -> dict:
    return json.loads((REPO / "payloads" / "tests" / "corpus" / name).read_text(encoding="utf-8"))


_REDACTORS = {mode: build_redactor(mode) for mode in ("off", "standard", "strict")}


def _cases(pattern_class: str) -> list[tuple[str, str]]:
    return [
        (case["context"].replace("{secret}", "".join(case["secret"])), case["expected"])
        for case in _corpus("secrets.json")["cases"]
        if case["class"] == pattern_class
    ]


@pytest.mark.parametrize(("text", "expected"), _cases("credential"))
def test_the_sdk_masks_the_servers_credential_corpus_as_the_server_does(text: str, expected: str) -> None:
    assert _REDACTORS["standard"].redact(text) == (expected, True)
    assert _REDACTORS["strict"].redact(text) == (expected, True)
    assert _REDACTORS["off"].redact(text) == (text, False)


@pytest.mark.parametrize(("text", "expected"), _cases("personal"))
def test_the_sdk_masks_the_servers_personal_data_corpus_in_strict_only(text: str, expected: str) -> None:
    assert _REDACTORS["strict"].redact(text) == (expected, True)
    assert _REDACTORS["standard"].redact(text) == (text, False)


@pytest.mark.parametrize("mode", ["off", "standard", "strict"])
def test_the_sdk_leaves_the_false_positive_corpus_untouched(mode: str) -> None:
    redactor = _REDACTORS[mode]

    assert [text for text in _corpus("harmless.json")["texts"] if redactor.redact(text)[0] != text] == []
