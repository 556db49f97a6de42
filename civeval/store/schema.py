"""Tables (SQLAlchemy 2 Core). Changes to these go with an Alembic migration in ``migrations/versions``."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = sa.Table(
    "units",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("units.id")),
    sa.Column("contact", sa.String(100), nullable=False, server_default=""),
    sa.Column("phone", sa.String(50), nullable=False, server_default=""),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

point_types = sa.Table(
    "point_types",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
)

points = sa.Table(
    "points",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("point_type_id", sa.Integer, sa.ForeignKey("point_types.id"), nullable=False, index=True),
    sa.Column("street_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("address", sa.String(300), nullable=False, server_default=""),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("custodian_unit_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("road_chief_unit_id", sa.Integer, sa.ForeignKey("units.id")),
    sa.Column("owner_leader", sa.String(100), nullable=False, server_default=""),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

indexes = sa.Table(
    "indexes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("edition", sa.String(50), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    sa.UniqueConstraint("name", "version", name="uq_indexes_name_version"),
)

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint("index_id", "code", name="uq_categories_index_code"),
)

indicators = sa.Table(
    "indicators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint("index_id", "code", name="uq_indicators_index_code"),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="CASCADE"), nullable=False),
    sa.Column("indicator_id", sa.Integer, sa.ForeignKey("indicators.id", ondelete="CASCADE")),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint("index_id", "code", name="uq_items_index_code"),
)

standards = sa.Table(
    "standards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("methods", sa.JSON, nullable=False),
    sa.Column("full_marks", sa.Float, nullable=False),
    sa.Column("scoring_mode", sa.String(20), nullable=False),
    sa.Column("per_instance", sa.Float),
    sa.Column("cap", sa.Float),
    sa.Column("responsibility", sa.String(20), nullable=False),
    sa.Column("veto", sa.String(20), nullable=False),
    sa.Column("instructions", sa.Text, nullable=False, server_default=""),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("deadline_days", sa.Integer),
    sa.Column("position", sa.Integer, nullable=False),
    sa.UniqueConstraint("index_id", "code", name="uq_standards_index_code"),
)

standard_point_types = sa.Table(
    "standard_point_types",
    metadata,
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("point_type_id", sa.Integer, sa.ForeignKey("point_types.id"), primary_key=True, index=True),
    sa.Column("position", sa.Integer, nullable=False),
)

# role: "lead" (牵头) or "support" (配合)
standard_units = sa.Table(
    "standard_units",
    metadata,
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), primary_key=True, index=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
)

# Point types an index itself declares (its 点位类型 sheet), in its order.
index_point_types = sa.Table(
    "index_point_types",
    metadata,
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("point_type_id", sa.Integer, sa.ForeignKey("point_types.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

# --- accounts and audit (issue 3) ---------------------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200)),
    sa.Column("phone", sa.String(50), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.DateTime),
    sa.Column("last_login_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
)

# A role held by a user, city-wide (scope_unit_id NULL) or within one unit (a street, a department).
role_grants = sa.Table(
    "role_grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("scope_unit_id", sa.Integer, sa.ForeignKey("units.id")),
    sa.UniqueConstraint("user_id", "role", "scope_unit_id", name="uq_role_grants_user_role_scope"),
)

# Append-only: the store refuses UPDATE and DELETE on it (civeval.audit, and triggers in the database).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("actor_id", sa.Integer, index=True),  # users.id; NULL for the system (CLI, demo, migrations)
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(10), nullable=False),  # insert / update / delete
    sa.Column("table_name", sa.String(64), nullable=False, index=True),
    sa.Column("row_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("context", sa.String(300), nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# Signed-in browser sessions: the browser keeps a random token in a cookie, the store keeps its SHA-256, so a
# page reload resumes the session and the idle time-out holds across reloads and processes.
login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
)

# --- rounds, drawn points, observations, photos (issue 4) ---------------------------------------

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id"), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="planned"),
    sa.Column("sample_plan", sa.JSON),  # SamplePlan as drawn (with its seed)
    sa.Column("drawn_by", sa.String(64)),
    sa.Column("drawn_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
)

# The points of a round: drawn (or fixed), with the inspector they are assigned to and the day of the visit.
round_points = sa.Table(
    "round_points",
    metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("point_id", sa.Integer, sa.ForeignKey("points.id"), primary_key=True, index=True),
    sa.Column("fixed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("inspector_id", sa.Integer, sa.ForeignKey("users.id"), index=True),
    sa.Column("visit_date", sa.Date),
    sa.Column("submitted_at", sa.DateTime),
    sa.Column("submitted_by", sa.String(64)),
    # an inspector's points in a round by index seek; a round's drawn/submitted counts from the index alone
    sa.Index("ix_round_points_round_inspector", "round_id", "inspector_id", "submitted_at"),
)

# One answer per (round, point, standard) for field standards, or per (round, unit, standard) for materials review.
observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("point_id", sa.Integer, sa.ForeignKey("points.id"), index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id"), nullable=False, index=True),
    sa.Column("result", sa.String(4), nullable=False),
    sa.Column("instances", sa.Integer),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.String(10), nullable=False, server_default="app"),  # app / paper
    sa.Column("answered_by", sa.String(64), nullable=False),
    sa.Column("answered_at", sa.DateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.UniqueConstraint("round_id", "point_id", "standard_id", name="uq_observations_round_point_standard"),
    sa.UniqueConstraint("round_id", "unit_id", "standard_id", name="uq_observations_round_unit_standard"),
    sa.Index("ix_observations_round_point", "round_id", "point_id"),
)

# Photos, stored once by content hash: as files under evaluations/photos (default) or in the database.
photos = sa.Table(
    "photos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("content_type", sa.String(50), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("taken_at", sa.DateTime),  # from EXIF, when present
    sa.Column("gps_lat", sa.Float),
    sa.Column("gps_lon", sa.Float),
    sa.Column("storage", sa.String(10), nullable=False),  # file / db
    sa.Column("data", sa.LargeBinary),  # the bytes, when storage == "db"
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("uploaded_at", sa.DateTime, nullable=False),
)

observation_photos = sa.Table(
    "observation_photos",
    metadata,
    sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

# --- findings and rectification (issue 5) --------------------------------------------------------

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("source", sa.String(20), nullable=False, index=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), index=True),
    sa.Column("observation_id", sa.Integer, sa.ForeignKey("observations.id"), unique=True),
    sa.Column("point_id", sa.Integer, sa.ForeignKey("points.id"), index=True),
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id"), index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("instances", sa.Integer),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("assigned_at", sa.DateTime, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False, index=True),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("closed_by", sa.String(64)),
    sa.Column("long_term_at", sa.DateTime),
    sa.Column("voided_at", sa.DateTime),
    sa.Column("reinspections", sa.Integer, nullable=False, server_default="0"),
    sa.Column("extension_until", sa.Date),  # an extension requested and not yet decided
    sa.Column("recurrence_of", sa.Integer, sa.ForeignKey("findings.id")),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # Kept with every event, so that a finding's facts on a date after its last event are its current columns and
    # only findings that moved since need their events replayed (civeval.metrics): when its last event happened,
    # and the office's date of its closing.
    sa.Column("changed_at", sa.DateTime),
    sa.Column("closed_on", sa.Date),
    sa.Index("ix_findings_created_changed", "created_at", "changed_at"),
    sa.Index("ix_findings_recurrence_of", "recurrence_of", "created_at"),  # covers "recurred by then"
)

# Every transition of a finding: who, when, from which state to which, why, and what came with it.
finding_events = sa.Table(
    "finding_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("finding_id", sa.Integer, sa.ForeignKey("findings.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("detail", sa.JSON),
)

# Photos of a finding: before (the failure) and after (the fix, with the event that submitted it).
finding_photos = sa.Table(
    "finding_photos",
    metadata,
    sa.Column("finding_id", sa.Integer, sa.ForeignKey("findings.id"), primary_key=True),
    sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id"), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),  # before / after
    sa.Column("event_id", sa.Integer, sa.ForeignKey("finding_events.id")),
    sa.Column("position", sa.Integer, nullable=False),
)

# --- questionnaires, materials documents, citizens' suggestions (issue 9) -----------------------------------------

# A questionnaire (问卷): its questions are tied to the index's survey standards; answers come from spreadsheet
# imports (with the column mapping saved here) and from paper questionnaires entered on a tablet.
questionnaires = sa.Table(
    "questionnaires",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id")),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id"), index=True),  # the mock round it belongs to
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("satisfaction_scores", sa.JSON),  # {"满意": 100, "基本满意": 60, "不满意": 0} unless configured
    sa.Column("column_mapping", sa.JSON),  # the import's spreadsheet column → field/question mapping, saved
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)

survey_questions = sa.Table(
    "survey_questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("questionnaire_id", sa.Integer, sa.ForeignKey("questionnaires.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # awareness / support / participation / satisfaction / free
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id")),
    sa.Column("choices", sa.JSON),  # the answers offered, in order
    sa.Column("yes_values", sa.JSON),  # the answers counted as yes (awareness, support, participation)
    sa.UniqueConstraint("questionnaire_id", "code", name="uq_survey_questions_code"),
)

survey_responses = sa.Table(
    "survey_responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("questionnaire_id", sa.Integer, sa.ForeignKey("questionnaires.id", ondelete="CASCADE"), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),  # import / paper
    sa.Column("external_id", sa.String(100)),  # the survey tool's respondent id: a second import skips it
    sa.Column("street_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("community_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), index=True),  # a unit's staff answering
    sa.Column("respondent_kind", sa.String(20), nullable=False, server_default="resident"),  # resident / staff
    sa.Column("valid", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("invalid_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("answered_at", sa.DateTime),
    sa.Column("entered_by", sa.String(64), nullable=False),
    sa.Column("entered_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("questionnaire_id", "external_id", name="uq_survey_responses_external"),
    sa.Index("ix_survey_responses_questionnaire", "questionnaire_id", "valid"),
)

survey_answers = sa.Table(
    "survey_answers",
    metadata,
    sa.Column("response_id", sa.Integer, sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("question_id", sa.Integer, sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# The population a quota is a share of: residents of a street/town/community, staff of a unit.
survey_populations = sa.Table(
    "survey_populations",
    metadata,
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), primary_key=True),
    sa.Column("population", sa.Integer, nullable=False),
    sa.Column("share", sa.Float),  # None: the default share for the unit's kind
)

# The task breakdown (任务分解清单) of materials review: what each responsible unit must provide for a standard.
material_requirements = sa.Table(
    "material_requirements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("index_id", sa.Integer, sa.ForeignKey("indexes.id"), nullable=False),
    sa.Column("standard_id", sa.Integer, sa.ForeignKey("standards.id"), nullable=False, index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False, index=True),
    sa.Column("documents", sa.Text, nullable=False, server_default=""),  # what to provide, in the office's words
    sa.Column("due_date", sa.Date),
    sa.Column("status", sa.String(20), nullable=False, server_default="missing"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.UniqueConstraint("index_id", "standard_id", "unit_id", name="uq_material_requirements"),
)

# Uploaded files (PDF, images, Office documents), stored like photos: by content hash, as files or in the database.
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("storage", sa.String(10), nullable=False),  # file / db
    sa.Column("data", sa.LargeBinary),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("uploaded_at", sa.DateTime, nullable=False),
)

material_submissions = sa.Table(
    "material_submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("requirement_id", sa.Integer, sa.ForeignKey("material_requirements.id"), nullable=False, index=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),  # as uploaded, sanitised
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("submitted_by", sa.String(64), nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=False),
    sa.Column("review", sa.String(20), nullable=False, server_default="pending"),  # pending/accepted/rejected/more
    sa.Column("review_comment", sa.Text, nullable=False, server_default=""),
    sa.Column("reviewed_by", sa.String(64)),
    sa.Column("reviewed_at", sa.DateTime),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

# A citizen's suggestion (意见建议): the intake record; handed to a unit it becomes a finding (source
# "suggestion") and follows the findings' life cycle; the answer given back to the citizen is kept here.
suggestions = sa.Table(
    "suggestions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("channel", sa.String(20), nullable=False),  # hotline / email / door_to_door / other
    sa.Column("person", sa.String(100), nullable=False, server_default=""),  # blank when the citizen declined
    sa.Column("name_withheld", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("contact", sa.String(100), nullable=False, server_default=""),
    sa.Column("area", sa.String(100), nullable=False, server_default=""),  # 所在区
    sa.Column("street_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
    sa.Column("community_id", sa.Integer, sa.ForeignKey("units.id")),
    sa.Column("place", sa.String(200), nullable=False, server_default=""),
    sa.Column("point_id", sa.Integer, sa.ForeignKey("points.id")),
    sa.Column("recorder", sa.String(100), nullable=False),  # 征询记录人
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("category", sa.String(50), nullable=False, server_default=""),
    sa.Column("finding_id", sa.Integer, sa.ForeignKey("findings.id"), unique=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),  # received / handed / answered / declined
    sa.Column("reply", sa.Text, nullable=False, server_default=""),
    sa.Column("replied_at", sa.DateTime),
    sa.Column("replied_by", sa.String(64)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
)

# Settings of the composite mock score (weights of field / materials / survey, and of the years of a cycle).
composite_settings = sa.Table(
    "composite_settings",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# A closed round's figures, recorded when it closes (civeval.archive): what the trend and the next round's deltas
# read instead of scoring every observation again. Removed when the round reopens.
round_results = sa.Table(
    "round_results",
    metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("observations", sa.Integer, nullable=False),
    sa.Column("field_rate", sa.Float),
    sa.Column("overall_rate", sa.Float),
    sa.Column("materials_rate", sa.Float),  # the composite's materials part (civeval.composite.materials_rate)
    sa.Column("groups", sa.JSON, nullable=False),  # {"street"|"unit"|"point_type": [[name, rate], …]} (deltas)
    sa.Column("rectification_on", sa.Date),  # the round's end date, when it had passed at recording
    sa.Column("rectification_rate", sa.Float),  # of all findings as they stood at the end of rectification_on
    sa.Column("on_time_rate", sa.Float),
)
