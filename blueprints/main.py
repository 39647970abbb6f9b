"""Pages outside authentication."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from blueprints.pages import render_page

bp = Blueprint("main", __name__)


@bp.get("/")
def get_home() -> ResponseReturnValue:
    """The start page."""
    return render_page("main/home.html")
