"""Authentication routes under `/auth` for JSON and Bearer clients (contract §5).

The HTML pages of these routes arrive with the browser sign-in work.
"""

from __future__ import annotations

from flask import Blueprint

from blueprints.endpoint import endpoint
from blueprints.rate_limits import address_limit
from blueprints.security import current_principal
from schemas.auth import RegisterRequest
from schemas.user import UserRead
from services import auth_service

bp = Blueprint("auth", __name__, url_prefix="/auth")
TAGS = ("auth",)


@bp.post("/register")
@address_limit("RATELIMIT_REGISTER", "register")
@endpoint(
    body=RegisterRequest,
    response=UserRead,
    status=201,
    errors=(409, 429),
    message="Account created; check your email to verify it",
    tags=TAGS,
)
def register(body: RegisterRequest) -> object:
    """Create an account and mail a verification link."""
    return auth_service.register(email=body.email, password=body.password, name=body.name)


@bp.get("/profile")
@endpoint(response=UserRead, auth=True, errors=(401,), tags=TAGS)
def get_profile() -> object:
    """The signed-in user."""
    return current_principal().user
