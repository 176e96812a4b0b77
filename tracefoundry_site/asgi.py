"""ASGI entry point, served by Granian (tracefoundry_site/serve.py): Django behind the request-body bounds, giving
memory back after large requests.

Every URL's view module is imported here, as each worker starts, so that a worker's first request is not
the one to pay for importing the API, ingest and their dependencies (about a second on the first request).
"""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.urls import get_resolver

from tracefoundry_site.asgi_body import BoundedRequestBody
from tracefoundry_site.memory_release import ReleaseMemoryAfterLargeRequests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")

django_application = get_asgi_application()
get_resolver().url_patterns  # noqa: B018 (imports the URL conf and every view module)
# Ingest allocates a few dicts per attribute of every span, and with the default threshold (700 allocations) the
# cycle collector ran thousands of times a request, walking every module object each full pass: about an eighth of
# ingest's CPU. What was imported is frozen out of the collector's way, and it runs every 20,000 allocations.
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 10, 10)
application = BoundedRequestBody(
    ReleaseMemoryAfterLargeRequests(django_application, min_body_bytes=256 * 1024),
    timeout_seconds=settings.WEB_BODY_TIMEOUT_SECONDS,
    max_bytes=settings.WEB_MAX_BODY_BYTES,
)
