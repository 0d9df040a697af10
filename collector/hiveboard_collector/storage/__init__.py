"""HiveBoard's storage: one interface (`Storage`) over embedded chDB or a ClickHouse server.

Every query and DDL statement of HiveBoard goes through a `Storage`; the same SQL runs on both.
"""

from hiveboard_collector.storage.base import EncodedRows, ProtobufSchema, QueryResult, Storage, StorageError
from hiveboard_collector.storage.chdb_storage import ChDBStorage
from hiveboard_collector.storage.server_storage import ClickHouseServerStorage

__all__ = [
    "ChDBStorage",
    "ClickHouseServerStorage",
    "EncodedRows",
    "ProtobufSchema",
    "QueryResult",
    "Storage",
    "StorageError",
]
