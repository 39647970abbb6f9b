"""Pages outside authentication (the home page arrives with the browser sign-in pages)."""

from flask import Blueprint

bp = Blueprint("main", __name__)
