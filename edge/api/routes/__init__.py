"""The local API's routers, one module per resource."""

from edge.api.routes import (
    actions,
    conflicts,
    events,
    health,
    lookup,
    operators,
    queue,
    scanners,
    stations,
    tasks,
)

API_ROUTERS = (  # under /api/v1
    stations.router,
    scanners.router,
    actions.router,
    queue.router,
    events.router,
    lookup.router,
    tasks.router,
    operators.router,
    conflicts.router,
)
ROOT_ROUTERS = (health.router,)
