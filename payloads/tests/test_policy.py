"""The policy file: the shipped one loads; a bad one names its line, in the parser and at start-up."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from payloads.contracts import RedactionMode
from payloads.policy import PolicyError, load_policy, parse_policy
from payloads.redaction import Redactor

GOOD = """version: 1
allowed_attributes: [service.*]
payload_attributes:
  - {key: input.value, role: input}
patterns:
  - name: token
    class: credential
    regex: 'tok_[a-z]+'
"""


def test_shipped_policy_loads_with_the_required_patterns() -> None:
    policy = load_policy(settings.TRACE_ALLOWLIST_FILE)

    names = {pattern.name for pattern in policy.patterns}
    assert {
        "openai_api_key",
        "anthropic_api_key",
        "bearer_token",
        "aws_access_key_id",
        "github_token",
        "private_key_block",
        "jwt",
        "url_password",
        "email",
        "phone_number",
        "card_number",
    } <= names
    assert policy.payload_rule("llm.input_messages.3.message.content") is not None
    assert policy.payload_rule("gen_ai.request.model") is None
    assert policy.is_allowed("gen_ai.usage.input_tokens")
    assert not policy.is_allowed("user.email")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("'tok_[a-z]+'", "'tok_[a-z'"), "line 8: pattern 'token': invalid regex"),
        (GOOD.replace("class: credential", "class: secretish"), "line 7: class 'secretish' must be one of"),
        (GOOD.replace("role: input}", "role: Input!}"), "line 4: role 'Input!' must be"),
        (GOOD.replace("version: 1", "version: 2"), "line 1: unsupported version '2'"),
        (GOOD + "unknown_section: []\n", "line 9: unknown key 'unknown_section'"),
        (GOOD.replace("    class: credential", "   class: credential"), "line 7: invalid YAML"),
        (GOOD.replace("'tok_[a-z]+'", "'x*'"), "line 8: pattern 'token': regex matches the empty string"),
        (GOOD + "    min_digits: many\n", "line 9: pattern 'token': min_digits must be a whole number"),
        (
            GOOD.replace("{key: input.value, role: input}", "{key: llm.*.x, role: m, flattened: true}"),
            "line 4: key 'llm.*.x' must be a literal prefix",
        ),
    ],
)
def test_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(f"policy.yaml {message}")):
        parse_policy(text, "policy.yaml")


def test_app_ready_refuses_a_bad_policy(settings, tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(GOOD.replace("class: credential", "class: nope"))
    settings.TRACE_ALLOWLIST_FILE = bad

    with pytest.raises(ImproperlyConfigured, match=f"{bad} line 7"):
        apps.get_app_config("payloads").ready()


def test_app_ready_refuses_an_unknown_mode(settings) -> None:
    settings.REDACTION_MODE = "paranoid"

    with pytest.raises(ImproperlyConfigured, match="REDACTION_MODE='paranoid'"):
        apps.get_app_config("payloads").ready()


def test_start_up_stops_on_a_bad_policy(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(GOOD.replace("'tok_[a-z]+'", "'(unclosed'"))
    environment = {**os.environ, "SECRET_KEY": "test", "DEBUG": "0", "TRACE_ALLOWLIST_FILE": str(bad)}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert f"redaction policy: {bad} line 8: pattern 'token': invalid regex" in result.stderr


def test_a_pattern_with_min_digits_runs_only_on_text_with_that_many_digits() -> None:
    policy = parse_policy(GOOD.replace("'tok_[a-z]+'", "'tok_[0-9a-z]+'") + "    min_digits: 3\n", "policy.yaml")
    redactor = Redactor(policy, RedactionMode.STANDARD)

    assert redactor.text("key tok_abc12 here") == "key tok_abc12 here"
    assert redactor.text("key tok_abc123 here") == "key [REDACTED:token] here"
    assert redactor.text("key tok_abc here, call 555") == "key [REDACTED:token] here, call 555"
