"""Who the token belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from central.api.deps import CurrentUser

router = APIRouter(tags=["users"])


@router.get("/me")
def me(user: CurrentUser) -> dict[str, Any]:
    """The name and roles of the token's user."""
    return {"name": user.name, "roles": sorted(user.roles)}
