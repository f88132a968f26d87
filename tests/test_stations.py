"""The station token: signed with the install's secret, expires after the event day, revoked on sign-out."""
from __future__ import annotations

import stat
from datetime import date, datetime, timedelta

from core import stations


def test_secret_is_created_once_and_private(tmp_path):
    key = stations.secret_key(tmp_path)
    assert len(key) == 32 and stations.secret_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600


def test_token_round_trip_tamper_and_expiry(seeded, tmp_path):
    key = stations.secret_key(tmp_path)
    later = datetime.now() + timedelta(hours=2)
    token = stations.issue(key=key, staff_id=seeded.cashier_id, desk="收银台1", event_id=seeded.event_id, lang="en",
                           expires=later)
    who = stations.restore(seeded.engine, token, key=key)
    assert who["role"] == "cashier" and who["desk"] == "收银台1" and who["lang"] == "en"
    payload, sig = token.split(".")
    forged = stations.issue(key=b"x" * 32, staff_id=seeded.manager_id, desk="经理", event_id=seeded.event_id, lang="en",
                            expires=later)
    assert stations.restore(seeded.engine, forged, key=key) is None  # another install's secret
    assert stations.restore(seeded.engine, forged.split(".")[0] + "." + sig, key=key) is None  # a changed payload
    assert stations.restore(seeded.engine, "garbage", key=key) is None
    old = stations.issue(key=key, staff_id=seeded.cashier_id, desk="收银台1", event_id=seeded.event_id, lang="zh-CN",
                         expires=datetime.now() - timedelta(seconds=1))
    assert stations.restore(seeded.engine, old, key=key) is None


def test_expiry_is_the_end_of_the_event_day():
    assert stations.expiry_for(date(2999, 1, 2)) == datetime(2999, 1, 2, 23, 59, 59)
    assert stations.expiry_for(date(2000, 1, 1)).date() == datetime.now().date()


def test_sign_out_revokes_and_deactivation_ends_it(seeded, tmp_path):
    from sqlalchemy import update

    from core.models import Staff
    from core.store import write_session

    key = stations.secret_key(tmp_path)
    later = datetime.now() + timedelta(hours=2)
    a = stations.issue(key=key, staff_id=seeded.cashier_id, desk="收银台1", event_id=seeded.event_id, lang="zh-CN",
                       expires=later)
    b = stations.issue(key=key, staff_id=seeded.cashier_id, desk="收银台2（开票）", event_id=seeded.event_id,
                       lang="zh-CN", expires=later)
    assert stations.revoke(seeded.engine, a, key=key)
    assert stations.restore(seeded.engine, a, key=key) is None
    assert stations.restore(seeded.engine, b, key=key) is not None  # another tablet of the same person stays
    with write_session(seeded.engine) as s:
        s.execute(update(Staff).where(Staff.id == seeded.cashier_id).values(active=False))
    assert stations.restore(seeded.engine, b, key=key) is None
