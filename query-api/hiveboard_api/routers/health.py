"""`GET /health`: whether the API can reach its storage (for load balancers; no key needed)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hiveboard.api.auth import StorageDep
from hiveboard.storage import StorageError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    storage: str


@router.get(
    "/health", summary="Storage reachable?", response_model=Health, responses={503: {"model": Health}}
)
def health(storage: StorageDep) -> Health | JSONResponse:
    try:
        storage.query("SELECT 1")
    except StorageError as error:
        return JSONResponse(Health(status="unavailable", storage=str(error)).model_dump(), 503)
    return Health(status="ok", storage="reachable")
