"""Optional integrations built on HiveLoop's public API."""
