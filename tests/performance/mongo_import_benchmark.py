"""Time `import-mongo` on a generated users collection (default 100,000 Mongoose users).

    .venv/bin/python -m tests.performance.mongo_import_benchmark [--users N] [--batch-size B]
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_mongo .venv/bin/python -m ...

SQLite (a temporary file) unless TEST_DATABASE_URL names a PostgreSQL server, where a scratch
database `<name>_perf` is created and dropped. Hashes are real bcryptjs hashes (a few, reused:
the import copies hashes, it never computes one). Prints the figures recorded in docs/migration.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("FLASK_CONFIG", "testing")

from bson import ObjectId
from flask_migrate import upgrade

from models import db
from services import migration_service
from tests.apps import make_app
from tests.databases import worker_database
from tests.mongo_data import bcryptjs_hash, write_json_lines

DISTINCT_HASHES = 16


def generate(path: Path, users: int) -> Path:
    """A mongoexport (relaxed JSON lines) file of `users` Mongoose users."""
    hashes = [bcryptjs_hash(f"password{n}") for n in range(DISTINCT_HASHES)]
    start = datetime(2021, 1, 1, tzinfo=UTC)
    documents = []
    for n in range(users):
        created = start + timedelta(minutes=n)
        documents.append(
            {
                "_id": ObjectId(),
                "role": "admin" if n % 1000 == 0 else "user",
                "isEmailVerified": n % 3 == 0,
                "name": f"User {n}",
                "email": f"user{n}@example.com",
                "password": hashes[n % DISTINCT_HASHES],
                "createdAt": created,
                "updatedAt": created + timedelta(days=1),
                "__v": 0,
            }
        )
    return write_json_lines(path, documents)


def measure(users: int, batch_size: int) -> dict[str, float]:
    """Seconds (wall clock; CPU of this process too) to import, re-import (all unchanged) and
    export `users` users."""
    with tempfile.TemporaryDirectory() as folder, worker_database("perf", Path(folder)) as target:
        source = generate(Path(folder) / "users.json", users)
        app = make_app(target.url)
        figures: dict[str, float] = {}
        with app.app_context():
            upgrade()
            for label in ("import", "re-import (unchanged)"):
                began, cpu = time.perf_counter(), time.process_time()
                report = migration_service.import_mongo(source, batch_size=batch_size)
                figures[label] = time.perf_counter() - began
                figures[f"{label}, CPU of this process"] = time.process_time() - cpu
                assert report.ok and report.verified == users, report.lines()
            began = time.perf_counter()
            migration_service.export_mongo(Path(folder) / "export.json")
            figures["export"] = time.perf_counter() - began
            db.engine.dispose()
        figures["database"] = 0.0 if target.dialect == "sqlite" else 1.0
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    figures = measure(args.users, args.batch_size)
    database = "PostgreSQL" if figures.pop("database") else "SQLite"
    for label, seconds in figures.items():
        print(f"{database}, {args.users} users: {label}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
