"""SQLAlchemy models. Importing this package registers every model on `db.metadata`."""

from models.action_token import ActionToken, TokenPurpose
from models.audit_event import AuditEvent
from models.auth_session import AuthSession, RefreshToken
from models.base import Base, Model, db, utcnow
from models.mfa import UserMfa
from models.passkey import Passkey, PasskeyChallenge
from models.user import EmailNormalisation, Role, User

__all__ = [
    "ActionToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "EmailNormalisation",
    "Model",
    "Passkey",
    "PasskeyChallenge",
    "RefreshToken",
    "Role",
    "TokenPurpose",
    "User",
    "UserMfa",
    "db",
    "utcnow",
]
