"""Projects: created through the API, or listed on first use by a task."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Project(BaseModel):
    slug: str = Field(description="What tasks name in `project=`")
    name: str
    description: str
    source: Literal["created", "auto"] = Field(
        description="created (or edited) through the API, or auto: named by a task and never edited"
    )
    created_at: datetime
    updated_at: datetime | None
    task_count: int
    last_activity: datetime | None = Field(description="Start of the project's latest task")


class ProjectList(BaseModel):
    data: list[Project]


class ProjectCreate(BaseModel):
    slug: str = Field(pattern=SLUG_PATTERN, description="Letters, digits, '.', '_' or '-'; at most 128")
    name: str = Field(default="", max_length=256, description="Display name (default: the slug)")
    description: str = Field(default="", max_length=4096)


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4096)
