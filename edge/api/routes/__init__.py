"""The local API's routers, one module per resource."""

from edge.api.routes import actions, events, health, queue, stations

API_ROUTERS = (stations.router, actions.router, queue.router, events.router)  # under /api/v1
ROOT_ROUTERS = (health.router,)
