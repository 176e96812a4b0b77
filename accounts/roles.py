"""The roles of TraceFoundry, as Django groups. The one place role names are defined."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer"
    ENGINEER = "engineer"
    ADMIN = "admin"
