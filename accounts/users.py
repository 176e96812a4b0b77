"""Creating users with a role, for `manage.py create_user` and tests (admins use /admin/ instead)."""

import secrets

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.roles import Role


def generate_password() -> str:
    return secrets.token_urlsafe(18)


@transaction.atomic
def create_user_with_role(username: str, role: Role, password: str, email: str = "") -> User:
    """Create an active user in the role's group; the password must pass AUTH_PASSWORD_VALIDATORS.

    Raises django.core.exceptions.ValidationError for a weak password, ValueError for a taken username.
    """
    if User.objects.filter(username=username).exists():
        raise ValueError(f"a user named {username!r} exists already")
    validate_password(password, User(username=username, email=email))
    user = User.objects.create_user(username, email=email, password=password)
    user.groups.add(Group.objects.get(name=role.value))
    return user
