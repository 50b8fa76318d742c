"""Central's HTTP API: the sync spine's views and the order service's resources.

app         create_app: the FastAPI app over a CentralSync
spine       health, metrics, edges, events, dead letters, station totals (no token yet)
deps        who is asking (bearer token and roles), units of work, keyset pages
errors      refusals in the one JSON error shape
sessions    a page's sign-in: an API token for a session token that expires, rate-limited
...         one router module per resource under /api/v1
"""

from central.api.app import create_app

__all__ = ["create_app"]
