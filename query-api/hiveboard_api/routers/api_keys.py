"""API keys of the caller's tenant: `GET/POST /v1/api-keys`, `DELETE /v1/api-keys/{key_id}`.

Any key lists its tenant's keys; only live keys create and revoke them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from hiveboard.api.auth import CurrentPrincipal, KeyManager, key_store
from hiveboard.api.errors import ERROR_RESPONSES, documented
from hiveboard.api.models.api_keys import ApiKeyCreate, ApiKeyInfo, ApiKeyList, CreatedApiKey
from hiveboard.storage.keys import KeyLookupError, KeyStore, UnknownKeyError

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=ERROR_RESPONSES)

Keys = Annotated[KeyStore, Depends(key_store)]
_LIVE_ONLY = documented(403, "Only live keys create and revoke keys")


@router.get("", summary="The keys of the caller's tenant, revoked ones included")
def get_keys(principal: CurrentPrincipal, keys: Keys) -> ApiKeyList:
    return ApiKeyList(data=[ApiKeyInfo.of(key) for key in keys.list(principal.tenant_id)])


@router.post("", status_code=201, summary="Create a key of the caller's tenant", responses=_LIVE_ONLY)
def create_key(body: ApiKeyCreate, principal: KeyManager, keys: Keys) -> CreatedApiKey:
    plaintext, key = keys.create(body.key_type, tenant_id=principal.tenant_id, name=body.name)
    return CreatedApiKey(**ApiKeyInfo.of(key).model_dump(), key=plaintext)


@router.delete(
    "/{key_id}",
    summary="Revoke a key of the caller's tenant (it stops working at once)",
    responses=_LIVE_ONLY
    | documented(404, "No such key in this tenant")
    | documented(400, "Key cannot be revoked"),
)
def revoke_key(key_id: str, principal: KeyManager, keys: Keys) -> ApiKeyInfo:
    try:
        return ApiKeyInfo.of(keys.revoke(key_id, tenant_id=principal.tenant_id))
    except UnknownKeyError as error:
        raise HTTPException(404, str(error)) from error
    except KeyLookupError as error:
        raise HTTPException(400, str(error)) from error
