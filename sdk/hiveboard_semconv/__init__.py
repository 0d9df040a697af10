"""HiveBoard semantic convention: `hiveboard_semconv.attributes` holds the attribute-name constants,
plain Python generated from the registry YAML in the repository's `semconv/` (whose checker and
generator are development tools, not shipped), so the SDK and the server read the same names
without the YAML or PyYAML at run time.
"""
