"""The gift desk's own role (issue 10): the demo's 马礼品 was a cashier, so the sign-in page showed
"马礼品 · 收银" and the gift desk could record renewals. Roles are plain text (no schema change);
this moves the demo's gift-desk person, on a store holding only demo events, to the new role.

Revision ID: 0009c
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009c'
down_revision = '0009e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    total, demo = conn.execute(sa.text(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN is_demo THEN 1 ELSE 0 END), 0) FROM event")).one()
    if total and total == demo:
        conn.execute(sa.text("UPDATE staff SET role = 'gift' WHERE name = '马礼品' AND role = 'cashier' AND team = '礼品组'"))


def downgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE staff SET role = 'cashier' WHERE role = 'gift'"))
