"""initial schema: index, units, point types, points

Revision ID: 0001
Revises:
Create Date: 2026-11-22 03:32:24.060946
"""

from alembic import op
import sqlalchemy as sa


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indexes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=50), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indexes")),
        sa.UniqueConstraint("name", "version", name="uq_indexes_name_version"),
    )
    op.create_table(
        "point_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_types")),
        sa.UniqueConstraint("code", name=op.f("uq_point_types_code")),
        sa.UniqueConstraint("name", name=op.f("uq_point_types_name")),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=100), server_default="", nullable=False),
        sa.Column("phone", sa.String(length=50), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name=op.f("fk_units_parent_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["index_id"], ["indexes.id"], name=op.f("fk_categories_index_id_indexes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("index_id", "code", name="uq_categories_index_code"),
    )
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_categories_index_id"), ["index_id"], unique=False)

    op.create_table(
        "index_point_types",
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("point_type_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["index_id"], ["indexes.id"], name=op.f("fk_index_point_types_index_id_indexes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["point_type_id"], ["point_types.id"], name=op.f("fk_index_point_types_point_type_id_point_types")
        ),
        sa.PrimaryKeyConstraint("index_id", "point_type_id", name=op.f("pk_index_point_types")),
    )
    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("point_type_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=300), server_default="", nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("custodian_unit_id", sa.Integer(), nullable=True),
        sa.Column("road_chief_unit_id", sa.Integer(), nullable=True),
        sa.Column("owner_leader", sa.String(length=100), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(["custodian_unit_id"], ["units.id"], name=op.f("fk_points_custodian_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["point_type_id"], ["point_types.id"], name=op.f("fk_points_point_type_id_point_types")
        ),
        sa.ForeignKeyConstraint(["road_chief_unit_id"], ["units.id"], name=op.f("fk_points_road_chief_unit_id_units")),
        sa.ForeignKeyConstraint(["street_id"], ["units.id"], name=op.f("fk_points_street_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points")),
        sa.UniqueConstraint("code", name=op.f("uq_points_code")),
    )
    with op.batch_alter_table("points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_points_custodian_unit_id"), ["custodian_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_points_point_type_id"), ["point_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_points_street_id"), ["street_id"], unique=False)

    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_indicators_category_id_categories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["index_id"], ["indexes.id"], name=op.f("fk_indicators_index_id_indexes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("index_id", "code", name="uq_indicators_index_code"),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicators_index_id"), ["index_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_items_category_id_categories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["index_id"], ["indexes.id"], name=op.f("fk_items_index_id_indexes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"], name=op.f("fk_items_indicator_id_indicators"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("index_id", "code", name="uq_items_index_code"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_index_id"), ["index_id"], unique=False)

    op.create_table(
        "standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("full_marks", sa.Float(), nullable=False),
        sa.Column("scoring_mode", sa.String(length=20), nullable=False),
        sa.Column("per_instance", sa.Float(), nullable=True),
        sa.Column("cap", sa.Float(), nullable=True),
        sa.Column("responsibility", sa.String(length=20), nullable=False),
        sa.Column("veto", sa.String(length=20), nullable=False),
        sa.Column("instructions", sa.Text(), server_default="", nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["index_id"], ["indexes.id"], name=op.f("fk_standards_index_id_indexes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_standards_item_id_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards")),
        sa.UniqueConstraint("index_id", "code", name="uq_standards_index_code"),
    )
    with op.batch_alter_table("standards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standards_index_id"), ["index_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_standards_item_id"), ["item_id"], unique=False)

    op.create_table(
        "standard_point_types",
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("point_type_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["point_type_id"], ["point_types.id"], name=op.f("fk_standard_point_types_point_type_id_point_types")
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standards.id"],
            name=op.f("fk_standard_point_types_standard_id_standards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("standard_id", "point_type_id", name=op.f("pk_standard_point_types")),
    )
    with op.batch_alter_table("standard_point_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standard_point_types_point_type_id"), ["point_type_id"], unique=False)

    op.create_table(
        "standard_units",
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["standards.id"], name=op.f("fk_standard_units_standard_id_standards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_standard_units_unit_id_units")),
        sa.PrimaryKeyConstraint("standard_id", "unit_id", name=op.f("pk_standard_units")),
    )
    with op.batch_alter_table("standard_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standard_units_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("standard_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_units_unit_id"))

    op.drop_table("standard_units")
    with op.batch_alter_table("standard_point_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_point_types_point_type_id"))

    op.drop_table("standard_point_types")
    with op.batch_alter_table("standards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standards_item_id"))
        batch_op.drop_index(batch_op.f("ix_standards_index_id"))

    op.drop_table("standards")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_index_id"))

    op.drop_table("items")
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicators_index_id"))

    op.drop_table("indicators")
    with op.batch_alter_table("points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_street_id"))
        batch_op.drop_index(batch_op.f("ix_points_point_type_id"))
        batch_op.drop_index(batch_op.f("ix_points_custodian_unit_id"))

    op.drop_table("points")
    op.drop_table("index_point_types")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_categories_index_id"))

    op.drop_table("categories")
    op.drop_table("units")
    op.drop_table("point_types")
    op.drop_table("indexes")
