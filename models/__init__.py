"""SQLAlchemy models. Importing this package registers every model on `db.metadata`."""

from models.base import Base, Model, db, utcnow
from models.user import Role, User

__all__ = ["Base", "Model", "Role", "User", "db", "utcnow"]
