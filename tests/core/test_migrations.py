"""The alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vault.db.engine import make_engine
from vault.db.models import Base


def test_migrations_match_models(env):
    engine = make_engine(env.config.db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def _fresh_url(db_url: str, tmp_path) -> str:
    return db_url or f"sqlite:///{tmp_path / 'migrating.db'}"


def test_0004_keeps_accounts_and_cases_and_goes_back(db_url, tmp_path):
    """An existing vault moves to chains: its accounts wait uncertified, its cases wait for adoption."""
    import sqlalchemy as sa
    from alembic import command

    from vault.db import migrate

    url = _fresh_url(db_url, tmp_path)
    migrate.upgrade(url, "0003")
    engine = make_engine(url, "migrate")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, username, role, kdf_salt, kdf_params, auth_hash, box_public, sign_public, "
            "enc_private_keys, totp_enabled, totp_last_step, disabled, language, key_epoch, created_at) VALUES "
            "(:id, 'aigul', 'lawyer', :salt, '{}', 'h', :key, :key, :key, :f, 0, :f, 'en', 1, :now)"),
            {"id": "a" * 32, "salt": b"s" * 16, "key": b"k" * 32, "f": False, "now": "2026-01-01 00:00:00"})
        conn.execute(sa.text("INSERT INTO cases (id, reference, title, created_by, created_at, key_version) "
                             "VALUES (:id, 'KG-1', 't', :u, :now, 1)"),
                     {"id": "c" * 32, "u": "a" * 32, "now": "2026-01-01 00:00:00"})
    migrate.upgrade(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT username, certificates, binding, invitation_id FROM users")).one()
        assert tuple(row) == ("aigul", None, None, None)
        assert conn.execute(sa.text("SELECT count(*) FROM case_entries")).scalar_one() == 0
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO case_entries (case_id, seq, payload, signer_public, signature, hash, "
                             "created_at) VALUES (:c, 1, '{}', :k, :sig, :h, :now)"),
                     {"c": "c" * 32, "k": b"k" * 32, "sig": b"s" * 64, "h": "0" * 64, "now": "2026-01-01 00:00:00"})
        conn.execute(sa.text("INSERT INTO settings (key, value) VALUES ('root_sign_public', 'x')"))
    cfg = migrate.alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with engine.connect() as conn:
        assert "case_entries" not in sa.inspect(conn).get_table_names()
        assert "certificates" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}
        assert conn.execute(sa.text("SELECT count(*) FROM settings WHERE key = 'root_sign_public'")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT username FROM users")).scalar_one() == "aigul"
    engine.dispose()
    migrate.upgrade(url)
