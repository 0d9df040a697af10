"""The choices of the global filters: `GET /v1/filters`."""

from __future__ import annotations

from fastapi import APIRouter

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.filters import FilterChoices
from hiveboard.api.queries.filters import filter_choices

router = APIRouter(prefix="/v1/filters", tags=["filters"], responses=ERROR_RESPONSES)


@router.get(
    "",
    summary="What the global filters can choose: environments, projects and agents",
    description="Read from the agents' registrations and the projects, not from the history: cheap "
    "enough for every page to ask.",
)
def get_filters(scope: Scope, storage: StorageDep) -> FilterChoices:
    return filter_choices(storage, scope)
