"""Helpers shared by the tests of every app: OTLP request builders (`factories`), the project under its web server
(`servers`), the persona access table (`access_table`) and Chromium for browser tests (`chromium`)."""
