"""`manage.py create_user NAME --role ...`: a user in the role, with a generated or given password."""

import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "engineer", "admin"])
def test_prints_a_generated_password_that_works(role: str) -> None:
    out = io.StringIO()

    call_command("create_user", "casey", "--role", role, stdout=out)
    password = out.getvalue().split(": ", 1)[1].split()[0]

    user = User.objects.get(username="casey")
    assert authenticate(username="casey", password=password) == user
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert not user.is_superuser
    assert len(password) >= 20


@pytest.mark.django_db
def test_takes_the_password_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a-Long-enough-pass-9\n"))
    out = io.StringIO()

    call_command("create_user", "dana", "--role", "engineer", "--password-stdin", stdout=out)

    assert authenticate(username="dana", password="a-Long-enough-pass-9") is not None
    assert "a-Long-enough-pass-9" not in out.getvalue()


@pytest.mark.django_db
def test_refuses_a_weak_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))

    with pytest.raises(CommandError, match="password refused"):
        call_command("create_user", "erik", "--role", "viewer", "--password-stdin")

    assert not User.objects.filter(username="erik").exists()


@pytest.mark.django_db
def test_refuses_a_taken_username(viewer: User) -> None:
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_user", viewer.username, "--role", "admin")


def test_refuses_an_unknown_role() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_user", "fay", "--role", "owner")
