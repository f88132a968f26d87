"""A realistic, clearly labelled demo event: 8 advisors, ~600 customers, outcomes, gift stock.

The customer list goes through the same import as a real DMS sheet.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core import importer
from core.clock import now
from core.events import add_staff, create_event
from core.models import Event, GiftType, Invitation
from core.security import SYSTEM_ROLE
from core.store import write_session
from core.validate import vin_check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文辉玉兰建华晓东海燕鹏飞俊杰子涵欣怡浩然宇轩梓萱"
MODELS = ("大众 朗逸 1.5L", "大众 速腾 1.4T", "大众 迈腾 2.0T", "大众 途观L", "大众 帕萨特", "大众 宝来", "大众 探岳", "大众 ID.4")
INSURERS = ("人保 PICC", "平安", "太平洋", "国寿财险", "大地", "阳光")
ADVISORS = (("陈晓东", "advisor", "续保组"), ("李婷", "advisor", "续保组"), ("王磊", "sa", "服务顾问组"),
            ("赵敏", "sa", "服务顾问组"), ("刘洋", "sales", "销售组"), ("周杰", "sales", "销售组"),
            ("孙丽", "service", "客服组"), ("吴鹏", "telesales", "电销组"))
DEMO_PIN = "8888"


def _name(rng: random.Random) -> str:
    n = rng.choice((1, 2, 2))
    given = "".join(rng.choice(GIVEN) for _ in range(n))
    return rng.choice(SURNAMES) + given


def _vin(rng: random.Random) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    body = "LSV" + "".join(rng.choice(chars) for _ in range(14))
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


def dms_rows(n: int, *, seed: int = 7, today: date | None = None, advisors=ADVISORS) -> list[list]:
    """A DMS export as rows (header first), the shape the import reads."""
    rng = random.Random(seed)
    today = today or now().date()
    header = ["序号", "客户姓名", "手机号", "车牌号", "车架号", "品牌型号", "商业险到期日期", "交强险到期日期",
              "上年承保公司", "客户类别", "服务顾问", "流失年份", "回访结果"]
    rows = [header]
    phones: set[str] = set()
    for i in range(1, n + 1):
        while True:
            phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
            if phone not in phones:
                phones.add(phone)
                break
        plate = "粤" + rng.choice("ABCDEFGHJ") + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
        group = rng.choices(("保有", "流失", "自然"), weights=(55, 30, 15))[0]
        expiry = today + timedelta(days=rng.randint(5, 90))
        rows.append([i, _name(rng), phone, plate, _vin(rng), rng.choice(MODELS), expiry.isoformat(),
                     expiry.isoformat(), rng.choice(INSURERS), group,
                     rng.choice(advisors)[0] if group == "保有" else "",
                     rng.choice((today.year - 1, today.year - 2)) if group == "流失" else "",
                     rng.choices(("确定", "不确定", "未接通", "无意向"), weights=(40, 25, 20, 15))[0]])
    return rows


def build_demo(engine: Engine, *, customers: int = 600, event_date: date | None = None) -> int:
    """Create the demo event with staff, invited customers and gift stock; returns its id."""
    from core.audit import audit
    from core.security import system_actor

    event_date = event_date or now().date()
    actor = system_actor(engine)  # the loader acts as the system row: the audit log says who made the demo
    with write_session(engine) as s:
        ev = create_event(s, name=f"【演示】{event_date.year}冬季续保直销会", event_date=event_date,
                          store_name="演示大众4S店", target_arrivals=200, target_renewals=150,
                          target_premium_fen=150 * 420000, is_demo=True)
        ev.draw_blank_tickets = 50
        ev.arrival_gift_on = True
        from core.models import Staff
        names = set(s.execute(select(Staff.name)).scalars())
        for name, role, team in ADVISORS + (("郑收银", "cashier", "财务"), ("何开票", "cashier", "财务"),
                                            ("林经理", "manager", "管理"), ("马礼品", "gift", "礼品组")):  # the gift desk: neither caller nor cashier
            if name not in names:
                add_staff(s, name=name, role=role, team=team, pin=DEMO_PIN)
        plan = importer.plan_table(dms_rows(customers, today=event_date), filename="demo.xlsx", today=event_date)
        importer.apply_import(s, ev.id, plan)
        rng = random.Random(11)
        for inv in s.execute(select(Invitation).where(Invitation.event_id == ev.id)).scalars():
            inv.party_size = rng.choice((1, 1, 1, 2, 2, 3))
        add_gift_stock(s, ev.id)
        audit(s, "demo_load", event_id=ev.id, desk="cli", staff_id=actor, detail={"customers": customers})
        return ev.id


def add_gift_stock(s, event_id: int) -> None:
    """The plan's stock: renewal gifts sized to the target, a 200-ticket draw box."""
    sub = GiftType(event_id=event_id, name="车载香薰", kind="renewal", value_fen=3900, stock=40, initial_stock=40,
                   low_threshold=5)
    s.add(sub)
    s.flush()
    s.add(GiftType(event_id=event_id, name="汽车应急工具包", kind="renewal", value_fen=12800, stock=150,
                   initial_stock=150, substitute_id=sub.id, low_threshold=15))
    s.add(GiftType(event_id=event_id, name="到店礼·抽纸", kind="arrival", value_fen=1500, stock=300, initial_stock=300,
                   low_threshold=20))
    consolation = GiftType(event_id=event_id, name="安慰奖·玻璃水", kind="prize", value_fen=1000, stock=60,
                           initial_stock=60, is_consolation=True)
    s.add(consolation)
    for name, count, value, release in (("便携洗车机", 10, 39900, "14:00"), ("车载吸尘器", 20, 19900, None),
                                        ("汽车工具箱", 40, 8900, None), ("后备箱储物箱", 80, 4900, None)):
        release_at = None
        if release:
            ev_date = s.get(Event, event_id).event_date
            h, m = map(int, release.split(":"))
            release_at = now().replace(year=ev_date.year, month=ev_date.month, day=ev_date.day, hour=h, minute=m, second=0,
                                         microsecond=0)  # on the minute, not a fraction after it
        s.add(GiftType(event_id=event_id, name=name, kind="prize", value_fen=value, stock=count, initial_stock=count,
                       release_after=release_at, low_threshold=2))
    s.flush()


def store_is_empty(engine: Engine) -> bool:
    from core.store import read_session

    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Event)).scalar_one() == 0


def holds_real_data(engine: Engine) -> bool:
    """A real (non-demo) event, or staff on a store without a demo event: never mix the demo in."""
    from core.models import Staff
    from core.store import read_session

    with read_session(engine) as s:
        real = s.execute(select(func.count()).select_from(Event).where(Event.is_demo.is_(False))).scalar_one()
        demo = s.execute(select(func.count()).select_from(Event).where(Event.is_demo.is_(True))).scalar_one()
        staff = s.execute(select(func.count()).select_from(Staff).where(Staff.role != SYSTEM_ROLE)).scalar_one()
    return real > 0 or (demo == 0 and staff > 0)
