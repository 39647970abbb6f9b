"""Unbound extension objects, bound to an application in `app.register_extensions`."""

from flask_migrate import Migrate

from models.base import db

migrate = Migrate(compare_type=True, render_as_batch=True)

__all__ = ["db", "migrate"]
