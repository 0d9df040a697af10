"""HiveBoard's query API: the views of the dashboard over ClickHouse, as a FastAPI application."""
