"""WSGI entry point, for `manage.py runserver` and the tests' live servers (production serves asgi.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")

application = get_wsgi_application()
