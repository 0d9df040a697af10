"""The HiveBoard dashboard in the browser, served at `/` of the query API's port.

Python serves the pages and assets (`assets`, `routes`) and signs browsers in (`sessions`); the
views themselves are ES modules in `static/js/` that read the public query API and `WS /v1/stream`
like any other client. `mount.install_dashboard(app, config, storage)` mounts it; `create_app` always does.
"""
