"""finding changed_at and closed_on, round results

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:45:10.305237
"""

import datetime as dt
import os
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_results",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("field_rate", sa.Float(), nullable=True),
        sa.Column("overall_rate", sa.Float(), nullable=True),
        sa.Column("materials_rate", sa.Float(), nullable=True),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("rectification_on", sa.Date(), nullable=True),
        sa.Column("rectification_rate", sa.Float(), nullable=True),
        sa.Column("on_time_rate", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_results_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_results")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_findings_created_changed", ["created_at", "changed_at"], unique=False)
        batch_op.create_index("ix_findings_recurrence_of", ["recurrence_of", "created_at"], unique=False)
    _backfill()


def _backfill() -> None:
    """changed_at: the time of each finding's last event; closed_on: the office's date of its closing."""
    conn = op.get_bind()
    findings = sa.table(
        "findings",
        sa.column("id", sa.Integer),
        sa.column("changed_at", sa.DateTime),
        sa.column("closed_at", sa.DateTime),
        sa.column("closed_on", sa.Date),
    )
    events = sa.table("finding_events", sa.column("finding_id", sa.Integer), sa.column("at", sa.DateTime))
    last = sa.select(sa.func.max(events.c.at)).where(events.c.finding_id == findings.c.id).scalar_subquery()
    conn.execute(sa.update(findings).values(changed_at=last))
    zone = ZoneInfo(os.environ.get("CIVEVAL_TIMEZONE", "Asia/Shanghai"))  # as civeval.audit.local_zone
    rows = conn.execute(sa.select(findings.c.id, findings.c.closed_at).where(findings.c.closed_at.is_not(None)))
    values = [{"fid": fid, "on": at.replace(tzinfo=dt.UTC).astimezone(zone).date()} for fid, at in rows]
    if values:
        conn.execute(
            sa.update(findings).where(findings.c.id == sa.bindparam("fid")).values(closed_on=sa.bindparam("on")),
            values,
        )


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_recurrence_of")
        batch_op.drop_index("ix_findings_created_changed")
        batch_op.drop_column("closed_on")
        batch_op.drop_column("changed_at")

    op.drop_table("round_results")
