"""The login form, checking passwords through the login throttle; the admin's add-user form with one role."""

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm
from django.contrib.auth.models import Group, User

from accounts.login_throttle import authenticate_throttled
from accounts.roles import Role


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form; a locked username or address raises `LoginThrottled` (the view answers 429)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            # The project's user model is Django's User.
            user = cast(User | None, authenticate_throttled(self.request, username, password, way_in="login-form"))
            if user is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(user)
            self.user_cache = user
        return self.cleaned_data


class UserWithRoleCreationForm(AdminUserCreationForm):
    """The admin's Add user form: exactly one role, chosen while creating the user."""

    role = forms.ChoiceField(choices=Role.choices, widget=forms.RadioSelect, help_text="Exactly one role.")

    def _save_m2m(self) -> None:
        super()._save_m2m()  # type: ignore[misc]  # ModelForm's m2m hook, not in django-stubs
        self.instance.groups.set([Group.objects.get(name=self.cleaned_data["role"])])
