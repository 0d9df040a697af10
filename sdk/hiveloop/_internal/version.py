"""The HiveLoop version: the single source for the package metadata and `telemetry.distro.version`."""

VERSION = "0.3.0"
