"""HiveBoard's storage: one interface (`Storage`) over embedded chDB or a ClickHouse server.

Every query and DDL statement of HiveBoard goes through a `Storage`; the same SQL runs on both.
"""

from hiveboard.storage.base import EncodedRows, ProtobufSchema, QueryResult, Storage, StorageError
from hiveboard.storage.chdb_storage import ChDBStorage
from hiveboard.storage.server_storage import ClickHouseServerStorage

__all__ = [
    "ChDBStorage",
    "ClickHouseServerStorage",
    "EncodedRows",
    "ProtobufSchema",
    "QueryResult",
    "Storage",
    "StorageError",
]
