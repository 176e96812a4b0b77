"""The DESIGN.md role table, enforced on every `/api/` endpoint listed from the URL conf.

Rows live in `<app>/tests/access_rules.py` (format: testing/access_table.py). A route without a row, or with an HTTP
method that has no row, fails `test_every_api_route_has_a_rule`.
"""

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.response import Response
from rest_framework.test import APIClient

from testing.access_table import SIGNED_IN_PERSONAS, Access


@dataclass(frozen=True)
class ApiRoute:
    name: str | None
    route: str
    methods: tuple[str, ...]


def _methods(callback: Callable[..., Any]) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:
        return tuple(sorted(method.upper() for method in actions))
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:  # a plain Django function view: at least GET must have a row
        return ("GET",)
    names = view_class.http_method_names
    return tuple(sorted(m.upper() for m in names if m not in ("options", "head") and hasattr(view_class, m)))


def _walk(patterns: list[URLPattern | URLResolver], prefix: str, namespace: str) -> Iterator[ApiRoute]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, route, inner)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield ApiRoute(name, route, _methods(pattern.callback))


def api_routes() -> list[ApiRoute]:
    return [r for r in _walk(get_resolver().url_patterns, "", "") if r.route.startswith("api/")]


def _project_apps_with_rules() -> list[str]:
    base = Path(settings.BASE_DIR)
    return sorted(
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).is_relative_to(base) and (Path(config.path) / "tests" / "access_rules.py").exists()
    )


def load_rules() -> tuple[dict[str, tuple[Access, ...]], list[str]]:
    """Every app's rows merged, and the URL names that more than one app claims."""
    rules: dict[str, tuple[Access, ...]] = {}
    claimed_twice: list[str] = []
    for app in _project_apps_with_rules():
        module = importlib.import_module(f"{app}.tests.access_rules")
        claimed_twice += sorted(set(module.ACCESS_RULES) & set(rules))
        rules.update(module.ACCESS_RULES)
    return rules, claimed_twice


ROUTES = api_routes()
RULES, CLAIMED_TWICE = load_rules()
ROUTE_NAMES = {route.name for route in ROUTES}
FLAT = [(name, access) for name, accesses in sorted(RULES.items()) for access in accesses]


def _case_id(name: str, access: Access) -> str:
    return "-".join(part for part in (name, access.method, access.label) if part)


CASES = [pytest.param(name, access, id=_case_id(name, access)) for name, access in FLAT]
ALLOWED = [
    pytest.param(name, access, persona, id=f"{_case_id(name, access)}-{persona}")
    for name, access in FLAT
    for persona in SIGNED_IN_PERSONAS
    if persona in access.allowed
]
DENIED = [
    pytest.param(name, access, persona, id=f"{_case_id(name, access)}-{persona}")
    for name, access in FLAT
    for persona in SIGNED_IN_PERSONAS
    if persona not in access.allowed
]


def _send(client: APIClient, name: str, access: Access) -> Response:
    url = reverse(name, kwargs=access.kwargs)
    call = getattr(client, access.method.lower())
    if access.method == "GET":
        return call(url, access.data)
    return call(url, access.data, format=access.format)


def test_the_api_has_routes() -> None:
    assert "api-me" in ROUTE_NAMES
    assert len(ROUTES) >= 2


def test_every_api_route_is_named() -> None:
    unnamed = [route.route for route in ROUTES if route.name is None]
    assert not unnamed, f"give these /api/ routes a name= so access_rules.py can refer to them: {unnamed}"


def test_every_api_route_has_a_rule() -> None:
    missing = [
        f"{route.name} ({route.route}) {method}"
        for route in ROUTES
        for method in route.methods
        if method not in {access.method for access in RULES.get(route.name or "", ())}
    ]
    assert not missing, (
        "these /api/ endpoints have no access rule; add a row keyed by URL name to "
        "<app>/tests/access_rules.py "
        f"(format: testing/access_table.py): {missing}"
    )


def test_every_rule_names_an_existing_route() -> None:
    stale = sorted(set(RULES) - ROUTE_NAMES)
    assert not stale, f"access_rules.py rows for URL names that are not /api/ routes: {stale}"


def test_no_route_has_rules_in_two_apps() -> None:
    assert not CLAIMED_TWICE, f"URL names with rows in more than one access_rules.py: {CLAIMED_TWICE}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "access"), CASES)
def test_anonymous_callers_are_refused(name: str, access: Access) -> None:
    response = _send(APIClient(), name, access)

    assert response.status_code == access.anonymous_status, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "access", "persona"), ALLOWED)
def test_allowed_personas_get_through(
    name: str, access: Access, persona: str, client_as: Callable[[str], APIClient]
) -> None:
    response = _send(client_as(persona), name, access)

    assert response.status_code not in (401, 403), response.content[:300]
    assert response.status_code < 500, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "access", "persona"), DENIED)
def test_other_personas_are_denied(
    name: str, access: Access, persona: str, client_as: Callable[[str], APIClient]
) -> None:
    response = _send(client_as(persona), name, access)

    assert response.status_code == access.denied_status, response.content[:300]
