"""The choices of the dashboard's global filters: environments, projects and agents.

Read from what stays small (the agents' registrations, the projects), not from the history the
views read, so that every view can offer them without adding to its own cost.
"""

from __future__ import annotations

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.filters import FilterChoices
from hiveboard.api.queries.projects import project_slugs
from hiveboard.api.queries.tables import AGENTS_TABLE
from hiveboard.api.queries.together import run_beside
from hiveboard.storage import Storage

# Each agent's environment as its latest registration or heartbeat gives it, as The Hive shows it.
_AGENTS_SQL = f"""
SELECT AgentId, argMax(Environment, LastHeartbeat) AS Environment
FROM {AGENTS_TABLE}
WHERE {SCOPE_SQL}
GROUP BY AgentId
ORDER BY AgentId"""


def agent_environments(storage: Storage, scope: DataScope) -> dict[str, str]:
    """Each agent of `scope` (in agent id order) with its environment ('' when it reports none)."""
    return dict(storage.query(_AGENTS_SQL, scope.parameters()).rows)


def filter_choices(storage: Storage, scope: DataScope) -> FilterChoices:
    """The agents, their environments and the listed projects of `scope`, each sorted."""
    agents, projects = run_beside(
        lambda: agent_environments(storage, scope), lambda: project_slugs(storage, scope)
    )
    return FilterChoices(
        environments=sorted({environment for environment in agents.values() if environment}),
        projects=projects,
        agents=list(agents),
    )
