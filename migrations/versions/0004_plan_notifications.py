"""plan notifications: the append-only log a plan's event stream replays (Last-Event-ID)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plans solved before this revision have no rows: their stream starts from the
    # plan as it is, and resumes from the first notification written after it.
    op.create_table(
        "plan_notifications",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("plan_notifications")
