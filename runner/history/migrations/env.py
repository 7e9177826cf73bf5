"""Run the history's migrations on the connection pdrun hands over (in a transaction it already holds)."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
