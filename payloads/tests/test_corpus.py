"""Every pattern of the shipped policy against the secret corpus, and the false-positive corpus, in every mode;
secret-named keys masking whole values at any depth."""

import json

import pytest

from payloads.redaction import SECRET_VALUE_MASK, configured_policy, redact_attributes, redact_text, redact_value
from payloads.tests.secret_corpus import CREDENTIAL_CASES, HARMLESS_TEXTS, PERSONAL_CASES, SECRET_CASES, SecretCase

MODES = ["off", "standard", "strict"]


@pytest.mark.parametrize("case", CREDENTIAL_CASES, ids=lambda case: case.id)
def test_credentials_are_masked_in_standard_and_strict_and_kept_under_off(case: SecretCase) -> None:
    assert redact_text(case.text, "standard") == case.expected
    assert redact_text(case.text, "strict") == case.expected
    assert redact_text(case.text, "off") == case.text
    assert case.secret not in case.expected
    assert f"[REDACTED:{case.masked_by}]" in case.expected


@pytest.mark.parametrize("case", PERSONAL_CASES, ids=lambda case: case.id)
def test_personal_data_is_masked_in_strict_only(case: SecretCase) -> None:
    assert redact_text(case.text, "strict") == case.expected
    assert redact_text(case.text, "standard") == case.text
    assert case.secret not in case.expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", HARMLESS_TEXTS, ids=lambda text: text[:40])
def test_harmless_text_is_left_untouched(text: str, mode: str) -> None:
    assert redact_text(text, mode) == text


def test_every_pattern_of_the_policy_masks_a_corpus_case() -> None:
    names = [pattern.name for pattern in configured_policy().patterns]

    assert sorted(set(names) - {case.masked_by for case in SECRET_CASES}) == []


@pytest.mark.parametrize("mode", ["standard", "strict"])
def test_secrets_are_masked_inside_json_on_lines_between_harmless_text(mode: str) -> None:
    text = "\n".join(
        part for pair in zip(HARMLESS_TEXTS, (case.text for case in CREDENTIAL_CASES), strict=False) for part in pair
    )
    redacted = redact_value({"nested": [{"text": text}]}, mode)["nested"][0]["text"]

    assert [case.secret for case in CREDENTIAL_CASES if case.secret in redacted] == []
    assert [harmless for harmless in HARMLESS_TEXTS if harmless not in redacted] == []


SECRET_NAMED_KEYS = [
    "password",
    "passwd",
    "db.password",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "http.request.header.authorization",
    "cookie",
    "http.response.header.set-cookie",
    "private_key",
    "client_secret",
    "clientSecret",
    "aws.secret_access_key",
    "SecretAccessKey",
    "OPENAI_API_KEY",
    "X-Api-Key",
    "refresh_token",
    "credentials",
]
NOT_SECRET_KEYS = [
    "gen_ai.usage.input_tokens",
    "gen_ai.request.max_tokens",
    "llm.token_count.prompt",
    "ai.usage.promptTokens",
    "author",
    "keyboard.layout",
    "aws_access_key_id",
    "tracefoundry.payload.token_ref",
]


@pytest.mark.parametrize("key", SECRET_NAMED_KEYS)
def test_a_secret_named_key_masks_the_whole_value_at_any_depth(key: str) -> None:
    attributes = {
        key: "correct horse battery staple",
        "app.config": {"db": {key: 42}, "list": [{key: ["a", "b"]}]},
    }

    assert redact_attributes(attributes, "standard") == (
        {
            key: SECRET_VALUE_MASK,
            "app.config": {"db": {key: SECRET_VALUE_MASK}, "list": [{key: SECRET_VALUE_MASK}]},
        },
        0,
    )
    assert redact_attributes(attributes, "off") == (attributes, 0)


@pytest.mark.parametrize("key", NOT_SECRET_KEYS)
def test_other_keys_keep_their_values(key: str) -> None:
    assert redact_attributes({key: 1234}, "standard") == ({key: 1234}, 0)


def test_strict_masks_a_secret_named_key_it_keeps_and_drops_an_unlisted_one() -> None:
    attributes = {"tracefoundry.api_key": "abc", "password": "hunter2", "gen_ai.request.model": "gpt-4o"}

    assert redact_attributes(attributes, "strict") == (
        {"tracefoundry.api_key": SECRET_VALUE_MASK, "gen_ai.request.model": "gpt-4o"},
        1,
    )


@pytest.mark.parametrize("mode", ["standard", "strict"])
@pytest.mark.parametrize("case", CREDENTIAL_CASES, ids=lambda case: case.id)
def test_credentials_are_masked_in_json_text_escaped_once_and_twice(case: SecretCase, mode: str) -> None:
    # Payloads are often JSON documents holding JSON: a secret then sits after `\n` or `\\\"`, not a space.
    once = json.dumps({"content": f"Earlier lines.\n{case.text}\nLater lines."})
    twice = json.dumps([{"role": "tool", "content": once}])

    assert case.secret[len(case.secret) // 4 :][:12] not in redact_text(once, mode)
    assert case.secret[len(case.secret) // 4 :][:12] not in redact_text(twice, mode)


@pytest.mark.parametrize("case", PERSONAL_CASES, ids=lambda case: case.id)
def test_personal_data_is_masked_in_json_text_in_strict(case: SecretCase) -> None:
    once = json.dumps({"content": f"Earlier lines.\n{case.text}\nLater lines."})

    assert case.secret not in redact_text(once, "strict")
