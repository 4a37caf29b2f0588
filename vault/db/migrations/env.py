"""Alembic environment: run by `vault server init` and `vault server migrate`."""

from alembic import context

from vault.db.engine import make_engine
from vault.db.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
connection = config.attributes.get("connection")


def run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url, "migrate")
    with engine.connect() as conn:
        run(conn)
