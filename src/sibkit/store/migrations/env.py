"""Alembic environment: runs on the connection sibkit hands over (see ``sibkit.store.migrate``)."""

from alembic import context

from sibkit.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
