"""HiveBoard, the server: the OTLP collector (`hiveboard.collector`), the storage it shares with the
query API (`hiveboard.storage`), the query API (`hiveboard.api`), the `hiveboard` command
(`hiveboard.cli`) and the fleet simulator (`hiveboard.demo`)."""
