"""Redaction of text, values and attributes under each mode, with the shipped policy."""

import pytest

from payloads.redaction import DROPPED_ATTRIBUTES_KEY, redact_attributes, redact_text, redact_value

CREDENTIAL_CASES = [
    ("key sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ.", "key [REDACTED:openai_api_key]."),
    ("key sk-ant-api03-FakeTestKey_0123456789abcdefghij-XYZ", "key [REDACTED:anthropic_api_key]"),
    ("aws AKIAZZFAKETEST123456 here", "aws [REDACTED:aws_access_key_id] here"),
    ("gh ghp_FakeTestToken0123456789abcdefghijKLMN", "gh [REDACTED:github_token]"),
    ("gh github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "gh [REDACTED:github_token]"),
    (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY----- after",
        "[REDACTED:private_key_block] after",
    ),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl ok", "jwt [REDACTED:jwt] ok"),
    ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [REDACTED:bearer_token]"),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic [REDACTED:authorization_header]"),
    (
        "clone https://bob:s3cr3t-pw@git.example.com/x",
        "clone https://bob:[REDACTED:url_password]@git.example.com/x",
    ),
    ('{"password": "hunter2hunter2"}', '{"password": "[REDACTED:secret_assignment]"}'),
    ("card 4111-1111-1111-1111 ok", "card [REDACTED:card_number] ok"),
]
PERSONAL_CASES = [
    ("mail jane.roe@example.org now", "mail [REDACTED:email] now"),
    ("call +1 415 555 0199", "call [REDACTED:phone_number]"),
    ("call (415) 555-0199", "call [REDACTED:phone_number]"),
    ("ssn 123-45-6789", "ssn [REDACTED:us_ssn]"),
]
HARMLESS = [
    "2024-01-15T10:00:00Z",
    "version 1.2.3 on 10.0.0.1",
    "trace 5b8efff798038103d269b633813fc60c span eee19b7ec3c1b174",
    "tokens 1234567812345678",  # 16 digits failing the Luhn check
    "the basic understanding of tasks",
    "gpt-4o-mini",
]


@pytest.mark.parametrize(("text", "expected"), CREDENTIAL_CASES)
def test_credentials_are_masked_in_standard_and_strict(text: str, expected: str) -> None:
    assert redact_text(text, "standard") == expected
    assert redact_text(text, "strict") == expected
    assert redact_text(text, "off") == text


@pytest.mark.parametrize(("text", "expected"), PERSONAL_CASES)
def test_personal_data_is_masked_in_strict_only(text: str, expected: str) -> None:
    assert redact_text(text, "strict") == expected
    assert redact_text(text, "standard") == text


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text, "strict") == text


def test_values_are_redacted_at_any_depth() -> None:
    value = {
        "a": ["ok", {"b": "key sk-proj-T3stOnlyFakeKey0123456789abcdefXYZ"}],
        "n": 3,
        "f": 1.5,
        "t": True,
    }

    assert redact_value(value, "standard") == {
        "a": ["ok", {"b": "key [REDACTED:openai_api_key]"}],
        "n": 3,
        "f": 1.5,
        "t": True,
    }


def test_standard_keeps_every_attribute() -> None:
    attributes = {"custom.key": "AKIAZZFAKETEST123456", "gen_ai.request.model": "gpt-4o"}

    assert redact_attributes(attributes, "standard") == (
        {"custom.key": "[REDACTED:aws_access_key_id]", "gen_ai.request.model": "gpt-4o"},
        0,
    )


def test_strict_drops_attributes_outside_the_allowlist_and_counts_them() -> None:
    attributes = {
        "user.email": "jane.roe@example.org",
        "custom.thing": 1,
        "gen_ai.request.model": "gpt-4o",
        "exception.message": "failed for jane.roe@example.org",
        "tracefoundry.payload.input_ref": "sha256:" + "a" * 64,
        DROPPED_ATTRIBUTES_KEY: 2,
    }

    assert redact_attributes(attributes, "strict") == (
        {
            "gen_ai.request.model": "gpt-4o",
            "exception.message": "failed for [REDACTED:email]",
            "tracefoundry.payload.input_ref": "sha256:" + "a" * 64,
            DROPPED_ATTRIBUTES_KEY: 2,
        },
        2,
    )
