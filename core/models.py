"""SQLModel classes for the whole event day. Money is integer fen, never float.

Times are naive local store time (core.clock.now): every store of a dealer group is in China.
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from pydantic import NaiveDatetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# --- enumerations, kept as plain strings in the store --------------------------------------
STAFF_ROLES = ("advisor", "sa", "sales", "service", "telesales", "cashier", "gift", "manager")  # gift: the gift desk
CALLER_ROLES = ("advisor", "sa", "sales", "service", "telesales")
GROUPS = ("retained", "lost", "natural", "web")
CALL_OUTCOMES = ("confirmed", "unsure", "no_answer", "not_interested")
PAYMENT_METHODS = ("pos", "wechat", "alipay", "cash", "transfer")
GIFT_KINDS = ("renewal", "arrival", "prize")


# --- event and people ---------------------------------------------------------------------
class Event(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    store_name: str = ""
    event_date: date
    target_arrivals: int = 0
    target_renewals: int = 0
    target_premium_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    draw_mode: str = "box"  # box: tickets drawn are gone; odds: fixed odds
    draw_blank_tickets: int = 0  # 谢谢参与 tickets in the box
    extra_draw_per_fen: int = 0  # one more chance per this much premium; 0 = off
    arrival_gift_on: bool = False
    is_demo: bool = False
    created_at: NaiveDatetime
    address: str = ""  # where the SMS invitation sends the guest (migration 0005)
    start_time: str = ""  # e.g. 09:00, shown in the SMS and on the cards


class Staff(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    role: str = "advisor"
    team: str = ""
    active: bool = True
    pin_hash: str = ""  # scrypt with a salt per PIN; empty: no desk access until the manager sets one
    failed_pins: int = 0  # wrong PINs since the last success or lock
    lockouts: int = 0  # locks in a row: each one doubles the next
    locked_until: Optional[NaiveDatetime] = None


# --- customers and their cars (they persist across events) --------------------------------
class Customer(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = ""
    phone: Optional[str] = Field(default=None, index=True)
    category: str = "natural"
    marketing_consent_at: Optional[NaiveDatetime] = None
    created_at: NaiveDatetime
    updated_at: NaiveDatetime


class Vehicle(SQLModel, table=True):
    __table_args__ = (Index("ix_vehicle_plate", "plate"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    plate: Optional[str] = None  # normalised, no dot: 粤B12345
    vin: Optional[str] = Field(default=None, unique=True)
    model: str = ""
    insurer_last: str = ""
    commercial_expiry: Optional[date] = None
    compulsory_expiry: Optional[date] = None
    seats: Optional[int] = None  # for the 交强险 table (≤6, 7–10, more)
    commercial_last_fen: Optional[int] = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # last year's 商业险


# --- invitations and the desks ------------------------------------------------------------
class Invitation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("event_id", "customer_id", name="uq_invitation_event_customer"),
                      # core.counts groups an event's list by these, on every check-in: read from the index alone
                      Index("ix_invitation_counts", "event_id", "source", "group", "advisor_id", "cancelled",
                            "call_outcome"))
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    advisor_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    group: str = "natural"
    loss_year: Optional[int] = None
    call_outcome: Optional[str] = None
    party_size: int = 1
    code: str = Field(unique=True)
    source: str = "import"  # import, walk_in
    walk_in_source: str = ""  # natural / web / referral for walk-ins (core.checkin.WALK_IN_SOURCES)
    cancelled: bool = False
    created_at: NaiveDatetime


class CheckIn(SQLModel, table=True):
    """One per invitation, guarded by the database. An undo marks it, never deletes it."""
    id: Optional[int] = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", unique=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    desk: str = ""
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    at: NaiveDatetime
    party_size: int = 1
    undone_at: Optional[NaiveDatetime] = None
    undone_by: Optional[int] = Field(default=None, foreign_key="staff.id")
    undo_reason: str = ""


class Renewal(SQLModel, table=True):
    """One live renewal per vehicle per event; a void keeps the row and frees the vehicle."""
    __table_args__ = (
        Index("uq_renewal_vehicle_live", "event_id", "vehicle_id", unique=True,
              sqlite_where=text("voided_at IS NULL"), postgresql_where=text("voided_at IS NULL")),
        Index("ix_renewal_event_created", "event_id", "created_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id")
    receipt_no: str = Field(unique=True)
    insurer: str
    compulsory_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    commercial_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    vehicle_tax_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    total_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    coverage: str = ""  # codes, e.g. damage|third:200万|seats:1万/座 (core.cashier.coverage_code)
    policy_numbers: str = ""
    payment_method: str
    payment_ref: str = ""
    advisor_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    credit_reason: str = ""
    cashier_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    desk: str = ""
    created_at: NaiveDatetime
    invoice_no: str = ""
    invoiced_at: Optional[NaiveDatetime] = None
    invoiced_by: Optional[int] = Field(default=None, foreign_key="staff.id")
    invoice_kind: str = ""  # none, personal, company; "" = not asked (renewals before 0006)
    invoice_title: str = ""  # 抬头
    invoice_tax_id: str = ""  # 税号 (unified social credit code), companies only
    amount_note: str = ""  # an unusual amount the cashier confirmed, and why it was unusual
    voided_at: Optional[NaiveDatetime] = None
    voided_by: Optional[int] = Field(default=None, foreign_key="staff.id")
    void_reason: str = ""


# --- gifts, the draw box and receipts -----------------------------------------------------
class GiftType(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("event_id", "name", name="uq_gift_type_event_name"),
        CheckConstraint("stock >= 0", name="ck_gift_type_stock_nonnegative"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    name: str
    kind: str = "renewal"  # renewal, arrival, prize
    value_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    stock: int = 0  # what is left; the CHECK keeps it from going below zero
    initial_stock: int = 0
    substitute_id: Optional[int] = Field(default=None, foreign_key="gifttype.id")
    low_threshold: int = 0
    release_after: Optional[NaiveDatetime] = None  # a top prize joins the box only from this time
    is_consolation: bool = False


class GiftIssue(SQLModel, table=True):
    """A gift handed out. One renewal gift per renewal and one arrival gift per check-in,
    guarded by partial unique indexes."""
    __table_args__ = (
        Index("uq_gift_renewal", "renewal_id", unique=True,
              sqlite_where=text("kind = 'renewal'"), postgresql_where=text("kind = 'renewal'")),
        Index("uq_gift_arrival", "invitation_id", unique=True,
              sqlite_where=text("kind = 'arrival'"), postgresql_where=text("kind = 'arrival'")),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    renewal_id: Optional[int] = Field(default=None, foreign_key="renewal.id")
    gift_type_id: int = Field(foreign_key="gifttype.id")
    kind: str = "renewal"
    substituted_for: Optional[int] = Field(default=None, foreign_key="gifttype.id")
    desk: str = ""
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    at: NaiveDatetime
    receipt_no: str = ""
    reclaim: bool = False
    reclaimed_at: Optional[NaiveDatetime] = None


class DrawResult(SQLModel, table=True):
    """One ticket drawn, with the box it saw and the random number, to show it was fair."""
    __table_args__ = (UniqueConstraint("renewal_id", "chance_no", name="uq_draw_renewal_chance"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    invitation_id: int = Field(foreign_key="invitation.id")
    renewal_id: int = Field(foreign_key="renewal.id", index=True)
    chance_no: int = 1
    prize_id: Optional[int] = Field(default=None, foreign_key="gifttype.id")  # None: 谢谢参与
    drawn_prize_id: Optional[int] = Field(default=None, foreign_key="gifttype.id")  # before consolation
    box_seen: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    random_value: int = 0
    mode: str = "box"
    desk: str = ""
    staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    at: NaiveDatetime
    receipt_no: str = ""
    reclaim: bool = False
    reclaimed_at: Optional[NaiveDatetime] = None


class PrintJob(SQLModel, table=True):
    """A receipt's exact bytes, stored before they are sent; reprint is a new copy job."""
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: Optional[int] = Field(default=None, foreign_key="event.id", index=True)
    receipt_no: str = Field(index=True)
    desk: str = ""
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    preview: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = "pending"  # pending, printed, failed, screen
    error: str = ""
    is_copy: bool = False
    target: str = ""
    created_at: NaiveDatetime
    finished_at: Optional[NaiveDatetime] = None


class DeskPrinter(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    desk: str = Field(unique=True)
    connection: str = "none"  # none, network, usb, serial
    host: str = ""
    port: int = 9100
    usb_vendor: str = ""
    usb_product: str = ""
    serial_device: str = ""
    render: str = "text"  # text: FS & + GB18030; image: rendered with a CJK font
    paper_mm: int = 80
    timeout_s: float = 2.5


# --- audit and idempotency ----------------------------------------------------------------
class AuditEntry(SQLModel, table=True):
    """Every attempt at a desk, refused ones included."""
    id: Optional[int] = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(index=True)
    event_id: Optional[int] = Field(default=None, index=True)
    desk: str = ""
    staff_id: Optional[int] = None
    action: str
    raw_input: str = ""
    result: str = "ok"  # ok or a reason code
    detail: str = ""


class ActionNonce(SQLModel, table=True):
    """A client nonce seen once: a double Enter or a retried request replays the first answer."""
    nonce: str = Field(primary_key=True)
    action: str
    result: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    at: NaiveDatetime


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str = ""


# --- before the event: calls and the daily plan (issue 12) --------------------------------
CALL_REASONS = {  # finer reasons per outcome
    "no_answer": ("rejected", "wrong_number", "powered_off", "suspended", "no_response"),
    "not_interested": ("insured_elsewhere", "car_sold", "refused", "other"),
}


class CallLog(SQLModel, table=True):
    """One row per call a caller made; Invitation.call_outcome keeps the latest outcome."""
    __table_args__ = (Index("ix_calllog_event_at", "event_id", "at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    caller_id: Optional[int] = Field(default=None, foreign_key="staff.id", index=True)
    at: NaiveDatetime
    outcome: str
    reason: str = ""
    party_size: int = 1
    expected_arrival: str = ""  # HH:MM on the event day
    note: str = ""
    sms_sent: bool = False
    sms_receipt: bool = False


class CallPlan(SQLModel, table=True):
    """The store's plan for one calling day: calls and SMS invitations (in batches)."""
    __table_args__ = (UniqueConstraint("event_id", "day", name="uq_callplan_event_day"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    day: date
    planned_calls: int = 0
    planned_sms: int = 0
