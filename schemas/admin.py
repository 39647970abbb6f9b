"""The admin console's forms (`/admin`), validated like the API's bodies."""

from __future__ import annotations

from schemas.common import QueryBool, QueryModel
from schemas.user import RoleName


class RoleForm(QueryModel):
    """Change a user's role."""

    role: RoleName


class ActiveForm(QueryModel):
    """Activate (`true`) or deactivate (`false`) a user."""

    is_active: QueryBool
