"""findings, their events and photos

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:32:36.659483
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("observation_id", sa.Integer(), nullable=True),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("long_term_at", sa.DateTime(), nullable=True),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.Column("reinspections", sa.Integer(), server_default="0", nullable=False),
        sa.Column("extension_until", sa.Date(), nullable=True),
        sa.Column("recurrence_of", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["observation_id"], ["observations.id"], name=op.f("fk_findings_observation_id_observations")
        ),
        sa.ForeignKeyConstraint(["point_id"], ["points.id"], name=op.f("fk_findings_point_id_points")),
        sa.ForeignKeyConstraint(["recurrence_of"], ["findings.id"], name=op.f("fk_findings_recurrence_of_findings")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_findings_round_id_rounds")),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_findings_standard_id_standards")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_findings_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("code", name=op.f("uq_findings_code")),
        sa.UniqueConstraint("observation_id", name=op.f("uq_findings_observation_id")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_deadline"), ["deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_point_id"), ["point_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_standard_id"), ["standard_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "finding_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name=op.f("fk_finding_events_finding_id_findings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_events")),
    )
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_events_finding_id"), ["finding_id"], unique=False)

    op.create_table(
        "finding_photos",
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["finding_events.id"], name=op.f("fk_finding_photos_event_id_finding_events")
        ),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name=op.f("fk_finding_photos_finding_id_findings")),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name=op.f("fk_finding_photos_photo_id_photos")),
        sa.PrimaryKeyConstraint("finding_id", "photo_id", name=op.f("pk_finding_photos")),
    )


def downgrade() -> None:
    op.drop_table("finding_photos")
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_events_finding_id"))

    op.drop_table("finding_events")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_unit_id"))
        batch_op.drop_index(batch_op.f("ix_findings_status"))
        batch_op.drop_index(batch_op.f("ix_findings_standard_id"))
        batch_op.drop_index(batch_op.f("ix_findings_source"))
        batch_op.drop_index(batch_op.f("ix_findings_round_id"))
        batch_op.drop_index(batch_op.f("ix_findings_point_id"))
        batch_op.drop_index(batch_op.f("ix_findings_deadline"))

    op.drop_table("findings")
