"""Login and logout pages (`/accounts/login/`, `/accounts/logout/`)."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.forms import ThrottledAuthenticationForm
from accounts.login_throttle import LoginThrottled


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().post(request, *args, **kwargs)
        except LoginThrottled as exc:
            # A fresh form: re-validating the posted one would try the password again.
            form = self.form_class(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, retry_after=exc.retry_after)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response


class LogoutView(auth_views.LogoutView):
    """Logging out is a POST (CSRF-protected); a GET shows a page with the button."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return TemplateResponse(request, "registration/logout_confirm.html", {})
