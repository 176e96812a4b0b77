"""The apps depend one way: `bundles` → `traces` → `payloads`, and `accounts` on none of them but the shared
types of `payloads.contracts`.

Checked over the source of every app (tests and migrations aside: tests drive the whole stack on purpose), with
imports inside functions counted too. Types that cross apps live in `payloads.contracts`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "payloads": ("traces", "bundles"),
    "traces": ("bundles",),
    "accounts": ("traces", "payloads", "bundles"),
}
# Leaf modules any app may import: they import no app themselves.
ALLOWED = frozenset({"payloads.contracts"})


def forbidden_imports(root: Path) -> list[str]:
    """`<file>:<line> imports <module>` for every import that goes against `FORBIDDEN`."""
    found = []
    for app, banned in FORBIDDEN.items():
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if {"tests", "migrations"} & set(relative.parts):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                forbidden = [name for name in names if name.split(".")[0] in banned and name not in ALLOWED]
                found += [f"{relative}:{node.lineno} imports {name}" for name in forbidden]
    return found


def test_no_app_imports_against_the_dependency_direction() -> None:
    assert forbidden_imports(ROOT) == []


def test_the_shared_contracts_import_no_app() -> None:
    tree = ast.parse((ROOT / "payloads" / "contracts.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"dataclasses", "typing", "django.db"}


@pytest.mark.parametrize(
    ("app", "source", "planted"),
    [
        ("payloads", "from traces.models import Span\n", "payloads/planted.py:1 imports traces.models"),
        ("payloads", "def f():\n    import bundles.format\n", "payloads/planted.py:2 imports bundles.format"),
        ("traces", "from bundles import exports\n", "traces/planted.py:1 imports bundles"),
        ("accounts", "import payloads\n", "accounts/planted.py:1 imports payloads"),
        ("accounts", "from payloads.redaction import Redactor\n", "accounts/planted.py:1 imports payloads.redaction"),
    ],
)
def test_a_planted_forbidden_import_is_found(tmp_path: Path, app: str, source: str, planted: str) -> None:
    for name in FORBIDDEN:
        (tmp_path / name).mkdir()
        (tmp_path / name / "tests").mkdir()
        # Tests may import any app: not reported.
        (tmp_path / name / "tests" / "test_x.py").write_text("import bundles\nimport traces\n")
    (tmp_path / app / "planted.py").write_text(source)
    assert forbidden_imports(tmp_path) == [planted]
