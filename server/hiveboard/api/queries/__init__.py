"""SQL of each view, one module per view; every query is scoped with `auth.SCOPE_SQL`."""
