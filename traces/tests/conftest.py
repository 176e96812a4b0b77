"""Fixtures the trace API tests share."""

import pytest
from django.test import Client


@pytest.fixture
def api(client: Client, viewer) -> Client:
    """A client logged in as a viewer: the least a reader of the API can be."""
    client.force_login(viewer)
    return client
