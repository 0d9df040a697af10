"""Response models, one module per view, so OpenAPI documents every shape."""
