"""The choices of the dashboard's global filters: `GET /v1/filters`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FilterChoices(BaseModel):
    environments: list[str] = Field(description="Environments the agents report")
    projects: list[str] = Field(description="Slugs of the projects /v1/projects lists (`project=`)")
    agents: list[str] = Field(description="Ids of the agents that have registered (`agent_id=`)")
