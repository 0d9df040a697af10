"""HiveBoard semantic convention.

`hiveboard_semconv.attributes` holds the attribute-name constants generated from `semconv/registry`
(plain Python, safe to import at runtime). `semconv.checker` (load and check the YAML
registry) and `semconv.generate` (write the constants and REFERENCE.md) are development
tooling and need PyYAML.
"""
