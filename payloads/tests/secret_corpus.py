"""The secret and false-positive corpora (`payloads/tests/corpus/*.json`), shared with the SDKs' tests.

Every secret is fake and stored in two fragments joined here, so no file holds a whole token-shaped string.
"""

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class SecretCase:
    masked_by: str
    pattern_class: str
    secret: str
    text: str
    # `text` after masking, in the modes that mask `pattern_class`.
    expected: str

    @property
    def id(self) -> str:
        return f"{self.masked_by}:{self.text[:40]}"


def secret_cases() -> list[SecretCase]:
    document = json.loads((CORPUS_DIR / "secrets.json").read_text(encoding="utf-8"))
    cases = []
    for entry in document["cases"]:
        secret = "".join(entry["secret"])
        cases.append(
            SecretCase(
                masked_by=entry["masked_by"],
                pattern_class=entry["class"],
                secret=secret,
                text=entry["context"].replace("{secret}", secret),
                expected=entry["expected"],
            )
        )
    return cases


def harmless_texts() -> list[str]:
    return list(json.loads((CORPUS_DIR / "harmless.json").read_text(encoding="utf-8"))["texts"])


SECRET_CASES = secret_cases()
HARMLESS_TEXTS = harmless_texts()
CREDENTIAL_CASES = [case for case in SECRET_CASES if case.pattern_class == "credential"]
PERSONAL_CASES = [case for case in SECRET_CASES if case.pattern_class == "personal"]
