"""rounds, drawn points, observations, photos

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:14:46.671026
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("sha256", name=op.f("uq_photos_sha256")),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="planned", nullable=False),
        sa.Column("sample_plan", sa.JSON(), nullable=True),
        sa.Column("drawn_by", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["index_id"], ["indexes.id"], name=op.f("fk_rounds_index_id_indexes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_table(
        "round_points",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("fixed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("visit_date", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["inspector_id"], ["users.id"], name=op.f("fk_round_points_inspector_id_users")),
        sa.ForeignKeyConstraint(["point_id"], ["points.id"], name=op.f("fk_round_points_point_id_points")),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_points_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("round_id", "point_id", name=op.f("pk_round_points")),
    )
    with op.batch_alter_table("round_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_points_inspector_id"), ["inspector_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_points_point_id"), ["point_id"], unique=False)

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=4), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.String(length=10), server_default="app", nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["point_id"], ["points.id"], name=op.f("fk_observations_point_id_points")),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_observations_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_observations_standard_id_standards")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_observations_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("round_id", "point_id", "standard_id", name="uq_observations_round_point_standard"),
        sa.UniqueConstraint("round_id", "unit_id", "standard_id", name="uq_observations_round_unit_standard"),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observations_point_id"), ["point_id"], unique=False)
        batch_op.create_index("ix_observations_round_point", ["round_id", "point_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_observations_standard_id"), ["standard_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_observations_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "observation_photos",
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["observations.id"],
            name=op.f("fk_observation_photos_observation_id_observations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["photo_id"], ["photos.id"], name=op.f("fk_observation_photos_photo_id_photos")),
        sa.PrimaryKeyConstraint("observation_id", "photo_id", name=op.f("pk_observation_photos")),
    )


def downgrade() -> None:
    op.drop_table("observation_photos")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_unit_id"))
        batch_op.drop_index(batch_op.f("ix_observations_standard_id"))
        batch_op.drop_index("ix_observations_round_point")
        batch_op.drop_index(batch_op.f("ix_observations_point_id"))

    op.drop_table("observations")
    with op.batch_alter_table("round_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_points_point_id"))
        batch_op.drop_index(batch_op.f("ix_round_points_inspector_id"))

    op.drop_table("round_points")
    op.drop_table("rounds")
    op.drop_table("photos")
