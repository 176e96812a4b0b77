"""Serve the statically exported explorer (`frontend/out`, built by `make frontend`) at `/`.

Pages (`index.html`, `trace/index.html`, ...) need a login: a logged-out visitor is sent to the login page
with `?next=` back to where they were. They are served with `no-cache` so a new build shows at once, and they
set the CSRF cookie the explorer sends back as `X-CSRFToken`. Hashed build assets under `/_next/static/` never
change under one name, so browsers may keep them for a year. The export holds code and page shells only, never
data (that comes from the API, which checks the session), so files other than pages are served without a login,
like Django's own static files.

Known limits: files are streamed by Django itself; behind a reverse proxy that serves `frontend/out`
directly, this view is only reached for pages.
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HASHED_PREFIX = "_next/static/"


def build_dir() -> Path:
    return Path(settings.EXPLORER_BUILD_DIR)


def resolve(root: Path, url_path: str) -> Path | None:
    """The exported file for a URL path, or None. Never a file outside `root`."""
    relative = url_path.strip("/")
    candidates = [relative, f"{relative}/index.html", f"{relative}.html"] if relative else ["index.html"]
    root = root.resolve()
    for candidate in candidates:
        path = (root / candidate).resolve()
        if path.is_relative_to(root) and path.is_file():
            return path
    return None


@require_safe
def serve(request: HttpRequest, path: str = "") -> HttpResponseBase:
    if path.startswith(_HASHED_PREFIX):
        return _file_response(path, IMMUTABLE)
    file = resolve(build_dir(), path)
    if file is not None and file.suffix != ".html":
        # The router's `*.txt` page payloads, icons...: static build output like the assets, no data. Sending
        # them to the login page would make a client-side navigation land on a login URL for `index.txt`.
        return _file_response(path, REVALIDATE)
    return _page(request, path)


@ensure_csrf_cookie
def _page(request: HttpRequest, path: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _file_response(path, REVALIDATE)


def _file_response(path: str, cache_control: str) -> HttpResponseBase:
    root = build_dir()
    if not (root / "index.html").is_file():
        return HttpResponse(
            "The explorer has not been built. Run `make frontend` (or `make run`), then reload.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    file = resolve(root, path)
    if file is None:
        raise Http404("No such explorer page or file.")
    content_type, encoding = mimetypes.guess_type(file.name)
    response = FileResponse(file.open("rb"), content_type=content_type or "application/octet-stream")
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Cache-Control"] = cache_control
    return response
