"""One module per REST area. Each exposes ``routes(ctx) -> list[BaseRoute]``.

Paths in ``API_ROUTE_MODULES`` are relative to the MLflow API prefix; the app mounts them under
both ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``. ``ROOT_ROUTE_MODULES`` give full paths.
"""

API_ROUTE_MODULES = (
    "cairn.server.routes.tracking",
    "cairn.server.routes.logged_models",
    "cairn.server.routes.registry",
    "cairn.server.routes.webhooks",
)
ROOT_ROUTE_MODULES = (
    "cairn.server.routes.system",
    "cairn.server.routes.artifacts",
    "cairn.server.routes.observability",
    "cairn.server.routes.ui",
    "cairn.server.routes.ui_api",
    "cairn.server.routes.registry_api",
    "cairn.server.routes.webhooks_api",
)
API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
