"""indexes the benchmarks showed were needed (issue 7)

round_points (round_id, inspector_id, submitted_at): an inspector's points in a round (the task list, the scoring
page's "next point") by index seek rather than a scan of the round's thousands of points, and a round's counts of
drawn and submitted points from the index alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 07:00:00.000000
"""

from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_round_points_round_inspector", "round_points", ["round_id", "inspector_id", "submitted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_round_points_round_inspector", table_name="round_points")
