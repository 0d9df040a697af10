"""HiveBoard's query API: the views of the dashboard over ClickHouse, as a FastAPI application."""

from hiveboard.api.app import create_app

__all__ = ["create_app"]
