"""A call that reached nobody no longer replaces an answer (issue 10, the N-1 re-confirm); an
index for core.counts, which groups an event's list on every check-in.

Invitation.call_outcome is now the customer's standing: the latest decisive outcome (确定 / 不确定 /
无意向); 未接通 only for a customer never reached. Rows written before this took the latest call's
outcome, so a confirmed customer who missed the re-confirm call stood at 未接通: give them back the
latest decisive outcome of their call log (the data is not undone on downgrade).

Revision ID: 0009e
Revises: 0008
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0009e'
down_revision = '0008'
branch_labels = None
depends_on = None

DECISIVE = ("confirmed", "unsure", "not_interested")


def upgrade() -> None:
    op.create_index("ix_invitation_counts", "invitation",
                    ["event_id", "source", "group", "advisor_id", "cancelled", "call_outcome"])
    invitation = sa.table("invitation", sa.column("id", sa.Integer), sa.column("call_outcome", sa.String))
    calllog = sa.table("calllog", sa.column("id", sa.Integer), sa.column("invitation_id", sa.Integer),
                       sa.column("at", sa.DateTime), sa.column("outcome", sa.String))
    answered = sa.and_(calllog.c.invitation_id == invitation.c.id, calllog.c.outcome.in_(DECISIVE))
    latest = (sa.select(calllog.c.outcome).where(answered)
              .order_by(calllog.c.at.desc(), calllog.c.id.desc()).limit(1).scalar_subquery())
    op.get_bind().execute(invitation.update()
                          .where(invitation.c.call_outcome == "no_answer", sa.exists().where(answered))
                          .values(call_outcome=latest))


def downgrade() -> None:
    op.drop_index("ix_invitation_counts", table_name="invitation")
