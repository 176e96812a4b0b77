"""TraceFoundry's Django project package; loads the Celery app so `@shared_task`s bind to it.

Importing the app connects to no broker: Django starts without Redis or any other server.
"""

from tracefoundry_site.celery import app as celery_app

__all__ = ("celery_app",)
