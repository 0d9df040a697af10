"""API keys of the caller's tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hiveboard.storage.keys import ApiKey


class ApiKeyInfo(BaseModel):
    """A key as listed: never its plaintext, only its display prefix."""

    key_id: str
    prefix: str = Field(description="The key's first 12 characters, e.g. hb_live_AbCd")
    key_type: Literal["live", "test", "read"]
    name: str
    created_at: datetime
    revoked_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyInfo:
        return cls(
            key_id=key.key_id,
            prefix=key.prefix,
            key_type=key.key_type.value,
            name=key.name,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            revoked=key.revoked,
        )


class CreatedApiKey(ApiKeyInfo):
    key: str = Field(description="The key itself: shown this once, store it now")


class ApiKeyList(BaseModel):
    data: list[ApiKeyInfo]


class ApiKeyCreate(BaseModel):
    key_type: Literal["live", "test", "read"] = Field(
        description="live: sends and reads production data; test: test data; read: only reads"
    )
    name: str = Field(default="", max_length=256, description="What the key is for")
