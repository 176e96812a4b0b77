"""Static files (admin, login pages) are served by the production server itself, with DEBUG off."""

import requests
from django.db import connection

from testing.servers import database_url, web_server


def test_the_web_server_serves_admin_static_files(transactional_db: None) -> None:
    with web_server(database_url(connection.settings_dict), workers=1) as base_url:
        response = requests.get(f"{base_url}/static/admin/css/base.css", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
