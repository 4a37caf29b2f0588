"""trust from people: users' certificates and invitation bindings, cases' membership chains

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

Existing accounts keep working uncertified (their certificates are NULL
until an admin or the root certifies them) and existing cases have no
chain until a member adopts them (docs/trust.md, "Cases from before chains").
The organisation root is a row in settings, written by `vault org init-root`.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("certificates", sa.Text(), nullable=True))
        batch.add_column(sa.Column("binding", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("invitation_id", sa.String(length=32), nullable=True))
    op.create_table(
        "case_entries",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signer_public", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("case_entries")
    op.execute("DELETE FROM settings WHERE key = 'root_sign_public'")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("invitation_id")
        batch.drop_column("binding")
        batch.drop_column("certificates")
