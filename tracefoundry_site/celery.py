"""The Celery application of TraceFoundry: worker and beat for retention and other background work.

Configuration comes from Django settings (every `CELERY_*` setting, the beat schedule included), so the
broker is Redis when `REDIS_URL` is set and the embedded filesystem broker otherwise. Tasks are found in each
installed app's `tasks.py`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracefoundry_site.settings")

app = Celery("tracefoundry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
