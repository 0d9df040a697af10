"""Projects: `GET/POST /v1/projects`, `GET/PATCH/DELETE /v1/projects/{slug}`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from hiveboard.api.auth import Scope, StorageDep, Writer
from hiveboard.api.errors import ERROR_RESPONSES, documented
from hiveboard.api.models.projects import Project, ProjectCreate, ProjectList, ProjectUpdate
from hiveboard.api.queries.projects import get_project, list_projects, save_project

router = APIRouter(prefix="/v1/projects", tags=["projects"], responses=ERROR_RESPONSES)

_NOT_FOUND = documented(404, "No such project")
_READ_ONLY = documented(403, "Read keys cannot change projects")


def _existing(storage: StorageDep, scope: Scope, slug: str) -> Project:
    project = get_project(storage, scope, slug)
    if project is None:
        raise HTTPException(404, f"no project {slug!r}: list them at /v1/projects, or create it with POST")
    return project


@router.get("", summary="Projects created through the API and those tasks name")
def get_projects(scope: Scope, storage: StorageDep) -> ProjectList:
    return ProjectList(data=list_projects(storage, scope))


@router.post(
    "",
    status_code=201,
    summary="Create a project",
    responses=_READ_ONLY | documented(409, "A project with this slug exists"),
)
def create_project(body: ProjectCreate, _: Writer, scope: Scope, storage: StorageDep) -> Project:
    if get_project(storage, scope, body.slug) is not None:
        raise HTTPException(
            409, f"project {body.slug!r} exists; change it with PATCH /v1/projects/{body.slug}"
        )
    save_project(storage, scope, body.slug, name=body.name or body.slug, description=body.description)
    return _existing(storage, scope, body.slug)


@router.get("/{slug}", summary="One project", responses=_NOT_FOUND)
def get_one_project(slug: str, scope: Scope, storage: StorageDep) -> Project:
    return _existing(storage, scope, slug)


@router.patch("/{slug}", summary="Rename or describe a project", responses=_NOT_FOUND | _READ_ONLY)
def update_project(slug: str, body: ProjectUpdate, _: Writer, scope: Scope, storage: StorageDep) -> Project:
    project = _existing(storage, scope, slug)
    save_project(
        storage,
        scope,
        slug,
        name=body.name if body.name is not None else project.name,
        description=body.description if body.description is not None else project.description,
        created_at=project.created_at,
    )
    return _existing(storage, scope, slug)


@router.delete(
    "/{slug}",
    status_code=204,
    summary="Delete a project (its tasks stay; a new task naming it lists it again)",
    responses=_NOT_FOUND | _READ_ONLY,
)
def delete_project(slug: str, _: Writer, scope: Scope, storage: StorageDep) -> Response:
    project = _existing(storage, scope, slug)
    save_project(
        storage,
        scope,
        slug,
        name=project.name,
        description=project.description,
        created_at=project.created_at,
        deleted=True,
    )
    return Response(status_code=204)
