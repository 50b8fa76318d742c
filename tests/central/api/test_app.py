"""The app as a whole: OpenAPI with the bearer scheme and every resource, the docs page."""

from __future__ import annotations

from tests.central.api.conftest import Api


def test_openapi_publishes_every_resource_and_the_bearer_scheme(shared_api: Api) -> None:
    spec = shared_api.client.get("/openapi.json").json()

    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a user's API token, as `floorsync central user add` printed it,"
        " or a session token from `POST /api/v1/sessions`",
    }
    paths = spec["paths"]
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/{code}/contacts",
        "/api/v1/items/{code}/routing",
        "/api/v1/items/{code}/bom",
        "/api/v1/calendars",
        "/api/v1/work-centers",
        "/api/v1/defect-codes",
        "/api/v1/operators",
        "/api/v1/sales-orders/{number}/confirm",
        "/api/v1/sales-orders/{number}/ship",
        "/api/v1/production-orders/{number}/release",
        "/api/v1/purchase-suggestions",
        "/api/v1/stock",
        "/api/v1/stock-moves",
        "/api/v1/shipments/{number}",
        "/api/v1/invoices/{number}/payments",
        "/api/v1/edges",
    ):
        assert path in paths, path
    created = paths["/api/v1/sales-orders"]["post"]
    assert created["security"] == [{"HTTPBearer": []}]
    assert "Idempotency-Key" in {p["name"].title() for p in created["parameters"]}
    assert "security" not in paths["/api/v1/edges"]["get"]
    assert shared_api.client.get("/docs").status_code == 200
