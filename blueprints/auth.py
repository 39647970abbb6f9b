"""Browser and JSON authentication under `/auth` (its routes arrive with the accounts API)."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
