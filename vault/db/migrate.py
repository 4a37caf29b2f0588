"""Schema migrations with alembic, driven from Python (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from vault.db.engine import make_engine

SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, target: str = "head") -> None:
    engine = make_engine(url, "migrate")
    with engine.begin() as conn:
        upgrade_on(conn, target)
    engine.dispose()


def upgrade_on(conn: Connection, target: str = "head") -> None:
    """Upgrade inside the caller's transaction (on PostgreSQL the DDL rolls back with it)."""
    cfg = alembic_config("")
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, target)


def head() -> str:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def is_known(rev: str) -> bool:
    """A revision id this code has a script for (not a symbol such as "head")."""
    return rev in {r.revision for r in ScriptDirectory.from_config(alembic_config("")).walk_revisions()}


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def revision(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)
