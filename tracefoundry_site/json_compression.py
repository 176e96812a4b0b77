"""gzip for the JSON answers of `/api/`, only: a 10,000-span page is about 8 MB as JSON and a tenth of that gzipped.

Only JSON API answers, because compressing a body that holds a secret next to text an attacker chose leaks the
secret through the compressed size (BREACH): HTML pages carry the CSRF token beside reflected input, so the
explorer, the admin and the login pages are never compressed. JSON API answers hold no CSRF token or session
secret (those travel in cookies and headers, which are not compressed), and Django's GZipMiddleware adds
random bytes to every compressed body (Heal The Breach) on top.
"""

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware


class JsonApiGZipMiddleware(GZipMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not request.path.startswith("/api/") or not response.get("Content-Type", "").startswith("application/json"):
            return response
        return super().process_response(request, response)
