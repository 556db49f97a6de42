"""questionnaires, materials documents, suggestions, composite settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:35:06.932550
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "composite_settings",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_composite_settings")),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("sha256", name=op.f("uq_documents_sha256")),
    )
    op.create_table(
        "survey_populations",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_survey_populations_unit_id_units")),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_survey_populations")),
    )
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("satisfaction_scores", sa.JSON(), nullable=True),
        sa.Column("column_mapping", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["index_id"], ["indexes.id"], name=op.f("fk_questionnaires_index_id_indexes")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_questionnaires_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaires")),
        sa.UniqueConstraint("name", name=op.f("uq_questionnaires_name")),
    )
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaires_round_id"), ["round_id"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("respondent_kind", sa.String(length=20), server_default="resident", nullable=False),
        sa.Column("valid", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("invalid_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["units.id"], name=op.f("fk_survey_responses_community_id_units")),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaires.id"],
            name=op.f("fk_survey_responses_questionnaire_id_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["street_id"], ["units.id"], name=op.f("fk_survey_responses_street_id_units")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_survey_responses_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("questionnaire_id", "external_id", name="uq_survey_responses_external"),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_responses_community_id"), ["community_id"], unique=False)
        batch_op.create_index("ix_survey_responses_questionnaire", ["questionnaire_id", "valid"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_responses_street_id"), ["street_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_responses_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "material_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("index_id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Text(), server_default="", nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="missing", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["index_id"], ["indexes.id"], name=op.f("fk_material_requirements_index_id_indexes")),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["standards.id"], name=op.f("fk_material_requirements_standard_id_standards")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_material_requirements_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_requirements")),
        sa.UniqueConstraint("index_id", "standard_id", "unit_id", name="uq_material_requirements"),
    )
    with op.batch_alter_table("material_requirements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_requirements_standard_id"), ["standard_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_material_requirements_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("yes_values", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaires.id"],
            name=op.f("fk_survey_questions_questionnaire_id_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["standards.id"], name=op.f("fk_survey_questions_standard_id_standards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
        sa.UniqueConstraint("questionnaire_id", "code", name="uq_survey_questions_code"),
    )
    op.create_table(
        "material_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("review", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("review_comment", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_material_submissions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["material_requirements.id"],
            name=op.f("fk_material_submissions_requirement_id_material_requirements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_submissions")),
    )
    with op.batch_alter_table("material_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_submissions_requirement_id"), ["requirement_id"], unique=False)

    op.create_table(
        "survey_answers",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_answers_question_id_survey_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "question_id", name=op.f("pk_survey_answers")),
    )
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("person", sa.String(length=100), server_default="", nullable=False),
        sa.Column("name_withheld", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("contact", sa.String(length=100), server_default="", nullable=False),
        sa.Column("area", sa.String(length=100), server_default="", nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(length=200), server_default="", nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column("recorder", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), server_default="", nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reply", sa.Text(), server_default="", nullable=False),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("replied_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["units.id"], name=op.f("fk_suggestions_community_id_units")),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name=op.f("fk_suggestions_finding_id_findings")),
        sa.ForeignKeyConstraint(["point_id"], ["points.id"], name=op.f("fk_suggestions_point_id_points")),
        sa.ForeignKeyConstraint(["street_id"], ["units.id"], name=op.f("fk_suggestions_street_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("code", name=op.f("uq_suggestions_code")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_suggestions_finding_id")),
    )
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suggestions_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_suggestions_street_id"), ["street_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestions_street_id"))
        batch_op.drop_index(batch_op.f("ix_suggestions_status"))

    op.drop_table("suggestions")
    op.drop_table("survey_answers")
    with op.batch_alter_table("material_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_submissions_requirement_id"))

    op.drop_table("material_submissions")
    op.drop_table("survey_questions")
    with op.batch_alter_table("material_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_requirements_unit_id"))
        batch_op.drop_index(batch_op.f("ix_material_requirements_standard_id"))

    op.drop_table("material_requirements")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_unit_id"))
        batch_op.drop_index(batch_op.f("ix_survey_responses_street_id"))
        batch_op.drop_index("ix_survey_responses_questionnaire")
        batch_op.drop_index(batch_op.f("ix_survey_responses_community_id"))

    op.drop_table("survey_responses")
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaires_round_id"))

    op.drop_table("questionnaires")
    op.drop_table("survey_populations")
    op.drop_table("documents")
    op.drop_table("composite_settings")
