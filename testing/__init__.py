"""Helpers shared by the tests of every app: OTLP request builders (`factories`), the project under its web server
(`servers`), the persona access table (`access_table`), Chromium for browser tests (`chromium`), and for the
LLM-library conventions: an OpenAI-compatible server (`openai_compatible_server`), what each library's release
sent (`goldens`, recorded by `conventions/record_goldens.py`), and the Node Vercel AI SDK scenario (`vercel_ai/`)."""
