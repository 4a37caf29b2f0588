"""uploads keep their SHA-256 state between chunks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("hash_state", sa.LargeBinary(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("hash_state")
