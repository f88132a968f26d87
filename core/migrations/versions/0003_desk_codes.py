"""Stored words become codes: a renewal's coverage and a walk-in's source (issue 9).

Rows written before this were stored in the cashier's UI language ("车损险；三者 200万；车上人员 1万/座",
"Own damage；…") and walk-in sources as Chinese labels (自然到店 / 网络集客 / 转介绍). Data only.

Revision ID: 0003
Revises: 0004
"""
from __future__ import annotations

import re

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0004'
branch_labels = None
depends_on = None

SOURCES = {"自然到店": "natural", "网络集客": "web", "转介绍": "referral"}
_DAMAGE = re.compile(r"^(车损险?|own damage)$", re.I)
_THIRD = re.compile(r"^(三者险?(保额)?|third[- ]party( limit)?)\s*[:：]?\s*(?P<v>.*)$", re.I)
_SEATS = re.compile(r"^(车上人员|passengers|seats)\s*[:：]?\s*(?P<v>.*)$", re.I)


def coverage_code(text: str) -> str:
    """'车损险；三者 200万；车上人员 1万/座' → 'damage|third:200万|seats:1万/座'; codes stay as they are."""
    if not text or "|" in text or text in ("damage",) or text.startswith(("third:", "seats:")):
        return text
    parts = []
    for piece in (p.strip() for p in re.split(r"[；;]", text)):
        if not piece:
            continue
        if _DAMAGE.match(piece):
            parts.append("damage")
        elif m := _THIRD.match(piece):
            parts.append(f"third:{m['v'].strip()}")
        elif m := _SEATS.match(piece):
            parts.append(f"seats:{m['v'].strip()}")
    return "|".join(parts)


def upgrade() -> None:
    conn = op.get_bind()
    renewal = sa.table("renewal", sa.column("id", sa.Integer), sa.column("coverage", sa.String))
    for rid, text in conn.execute(sa.select(renewal.c.id, renewal.c.coverage).where(renewal.c.coverage != "")).all():
        code = coverage_code(text)
        if code != text:
            conn.execute(renewal.update().where(renewal.c.id == rid).values(coverage=code))
    invitation = sa.table("invitation", sa.column("walk_in_source", sa.String))
    for label, code in SOURCES.items():
        conn.execute(invitation.update().where(invitation.c.walk_in_source == label).values(walk_in_source=code))


def downgrade() -> None:
    invitation = sa.table("invitation", sa.column("walk_in_source", sa.String))
    for label, code in SOURCES.items():
        op.get_bind().execute(invitation.update().where(invitation.c.walk_in_source == code).values(walk_in_source=label))
