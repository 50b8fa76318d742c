"""Alembic environment: runs on the engine the service hands over (see central.db.migrate)."""

from alembic import context

import central.db  # noqa: F401  (registers every table on the metadata)
from central.db.schema import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
