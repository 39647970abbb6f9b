"""The old Node.js service's `/v1` contract, served by this backend (docs/migration.md).

An adapter: it translates the old requests and answers and calls the services `/api/v1` calls;
no rule lives here. Mounted only when `LEGACY_API_ENABLED` is on.
"""

from __future__ import annotations

from blueprints.v1_compat import auth, docs, users
from blueprints.v1_compat.common import bp

# auth, users and docs add their routes to bp when imported.
ROUTE_MODULES = (auth, docs, users)

__all__ = ["ROUTE_MODULES", "bp"]
