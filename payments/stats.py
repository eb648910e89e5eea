"""Read-only money figures for the admin statistics: revenue, monthly recurring revenue, supporters, churn,
gifts, donor lifetime value, conversion and donations per issue.

One source of truth per figure: each figure is one function here, computed with SQL aggregates over the
ledgers (``donations``, ``donation_payments``); the dashboard, the staff JSON API and the CSV export all
call :func:`dashboard`, which calls them. Money is integer cents in one currency (the configured
``DONATION_CURRENCY``); payments in any other currency are never added in: they are listed apart
(:func:`other_currencies`) so nobody misses them.

A payment counts in the month (newsroom time zone) it was received (``paid_at``). Refunds and lost
disputes are deducted from the payment they concern, in that payment's month: the ledger keeps how much
was refunded, not when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from db import UTCDateTime
from newsletter import api as newsletter_api

from .models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)

RECEIVED = (PaymentStatus.PAID, PaymentStatus.REFUNDED)  # the money arrived (some may have gone back)
STARTED_MONTHLY = (DonationStatus.ACTIVE, DonationStatus.ENDED)
BY_DONOR = ("cancellation_requested",)  # Stripe's cancellation_details.reason when the donor cancelled
BY_FAILURE = ("payment_failed",)  # Stripe gave up after failed payments


def _at(moment: datetime):
    return literal(moment, UTCDateTime())


def _lost(p=DonationPayment):
    """What a lost dispute took back: the part of the payment not refunded already."""
    return case((p.dispute_status == DisputeStatus.LOST, p.amount_cents - p.refunded_cents), else_=0)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero (cents)."""
    if denominator == 0:
        return 0
    quotient = (abs(numerator) * 2 + denominator) // (denominator * 2)
    return quotient if numerator >= 0 else -quotient


def revenue_by_month(session: Session, period, currency: str) -> list[dict]:
    """Per calendar month: money received from one-time and monthly gifts (gross), minus refunds, minus
    lost disputes, giving ``net``. In cents, in ``currency`` only."""
    months = period.months()
    edges = newsletter_api.edges_of(months)
    bucket = newsletter_api.month_bucket(DonationPayment.paid_at, edges).label("bucket")
    monthly = case((Donation.kind == DonationKind.MONTHLY, DonationPayment.amount_cents), else_=0)
    rows = session.execute(
        select(bucket, func.sum(DonationPayment.amount_cents), func.sum(monthly),
               func.sum(DonationPayment.refunded_cents), func.sum(_lost()), func.count())
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.currency == currency,
               DonationPayment.paid_at >= period.start, DonationPayment.paid_at < period.end)
        .group_by(bucket)
    )  # fmt: skip
    found = {int(r[0]): [int(v or 0) for v in r[1:]] for r in rows}
    result = []
    for index, month in enumerate(months):
        gross, monthly_gross, refunded, lost, payments = found.get(index, [0, 0, 0, 0, 0])
        result.append({
            "month": month.label, "payments": payments, "gross_cents": gross,
            "one_time_cents": gross - monthly_gross, "monthly_cents": monthly_gross,
            "refunded_cents": refunded, "disputes_lost_cents": lost, "net_cents": gross - refunded - lost,
        })  # fmt: skip
    return result


def revenue_totals(rows: list[dict]) -> dict:
    """The period's sums of :func:`revenue_by_month` (the same rows, so the same figures)."""
    keys = ("payments", "gross_cents", "one_time_cents", "monthly_cents", "refunded_cents",
            "disputes_lost_cents", "net_cents")  # fmt: skip
    return {key: sum(row[key] for row in rows) for key in keys}


def other_currencies(session: Session, period, currency: str) -> list[dict]:
    """Payments received in the period in a currency other than ``currency``: counted apart, never added."""
    rows = session.execute(
        select(DonationPayment.currency, func.count(), func.sum(DonationPayment.amount_cents))
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.currency != currency,
               DonationPayment.paid_at >= period.start, DonationPayment.paid_at < period.end)
        .group_by(DonationPayment.currency).order_by(DonationPayment.currency)
    )  # fmt: skip
    return [{"currency": c.upper(), "payments": int(n), "gross_cents": int(s or 0)} for c, n, s in rows]


def _running_monthly(session: Session, column, edges: list[datetime], currency: str) -> list[tuple[int, int]]:
    """(cents, donations) of monthly donations whose ``column`` lies before each month end edges[1:]."""
    before = case((column < _at(edges[0]), -1), else_=newsletter_api.month_bucket(column, edges)).label("b")
    rows = session.execute(
        select(before, func.sum(Donation.amount_cents), func.count())
        .where(Donation.kind == DonationKind.MONTHLY, Donation.status.in_(STARTED_MONTHLY),
               Donation.paid_at.is_not(None), Donation.currency == currency, column < _at(edges[-1]))
        .group_by(before)
    )  # fmt: skip
    found = {int(b): (int(s or 0), int(n)) for b, s, n in rows}
    result, cents, count = [], 0, 0
    for index in range(-1, len(edges) - 1):
        add = found.get(index, (0, 0))
        cents, count = cents + add[0], count + add[1]
        if index >= 0:
            result.append((cents, count))
    return result


def mrr_by_month(session: Session, period, currency: str) -> list[dict]:
    """At the end of each month of the period (or at the period's end): monthly recurring revenue = the
    sum of the monthly amounts of all monthly donations that have started (first payment received) and
    not ended by then, failing ones included until Stripe ends them; ``supporters`` counts those
    donations."""
    months = period.months()
    edges = newsletter_api.edges_of(months)
    if not edges:
        return []
    started = _running_monthly(session, Donation.paid_at, edges, currency)
    ended = _running_monthly(session, Donation.ended_at, edges, currency)
    return [
        {"month": m.label, "at": m.end, "mrr_cents": s[0] - e[0], "supporters": s[1] - e[1]}
        for m, s, e in zip(months, started, ended, strict=True)
    ]


def mrr_at(session: Session, moment: datetime, currency: str) -> dict:
    """MRR and running monthly donations at one instant (the comparison's start)."""
    running = (Donation.paid_at < _at(moment)) & (
        Donation.ended_at.is_(None) | (Donation.ended_at >= _at(moment))
    )
    cents, count = session.execute(
        select(func.sum(Donation.amount_cents), func.count())
        .where(Donation.kind == DonationKind.MONTHLY, Donation.status.in_(STARTED_MONTHLY),
               Donation.currency == currency, running)
    ).one()  # fmt: skip
    return {"mrr_cents": int(cents or 0), "supporters": int(count)}


def new_supporters(session: Session, period, currency: str) -> dict:
    """Donors whose first gift ever (a donation paid or started) falls in the period, and the monthly
    donations started in the period."""
    first = (
        select(Donation.donor_id)
        .where(Donation.paid_at.is_not(None), Donation.donor_id.is_not(None), Donation.paid_at < period.end)
        .group_by(Donation.donor_id)
        .having(func.min(Donation.paid_at) >= period.start)
        .subquery()
    )
    donors = session.scalar(select(func.count()).select_from(first)) or 0
    monthly = session.scalar(
        select(func.count()).where(Donation.kind == DonationKind.MONTHLY,
                                   Donation.status.in_(STARTED_MONTHLY), Donation.currency == currency,
                                   Donation.paid_at >= period.start, Donation.paid_at < period.end)
    ) or 0  # fmt: skip
    return {"donors": int(donors), "monthly_started": int(monthly)}


def churn(session: Session, period, currency: str) -> dict:
    """Monthly donations that ended in the period: cancelled by the donor, lost to failed payments (Stripe
    gave up retrying), or ended otherwise (a dispute, staff); with the monthly amounts lost. ``rate`` is
    the ended ones over those running at the start plus those started in the period, in per cent."""
    category = case(
        (Donation.cancel_reason.in_(BY_DONOR), "cancelled"),
        (Donation.cancel_reason.in_(BY_FAILURE), "failed"),
        else_="other",
    ).label("category")
    rows = session.execute(
        select(category, func.count(), func.sum(Donation.amount_cents))
        .where(Donation.kind == DonationKind.MONTHLY, Donation.status == DonationStatus.ENDED,
               Donation.paid_at.is_not(None), Donation.currency == currency,
               Donation.ended_at >= period.start, Donation.ended_at < period.end)
        .group_by(category)
    )  # fmt: skip
    found = {c: (int(n), int(s or 0)) for c, n, s in rows}
    result = {}
    for key in ("cancelled", "failed", "other"):
        result[f"{key}_count"], result[f"{key}_mrr_cents"] = found.get(key, (0, 0))
    ended = sum(found.get(k, (0, 0))[0] for k in ("cancelled", "failed", "other"))
    base = (
        mrr_at(session, period.start, currency)["supporters"]
        + new_supporters(session, period, currency)["monthly_started"]
    )
    result["ended_count"] = ended
    result["rate_percent"] = round(100 * ended / base, 1) if base else 0.0
    return result


def recovered(session: Session, period, currency: str) -> dict:
    """Payments received in the period after at least one failed attempt (Stripe's retry or the donor's
    new card worked): the money recovered."""
    count, cents = session.execute(
        select(func.count(), func.sum(DonationPayment.amount_cents))
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.failure_count > 0,
               DonationPayment.currency == currency,
               DonationPayment.paid_at >= period.start, DonationPayment.paid_at < period.end)
    ).one()  # fmt: skip
    return {"payments": int(count), "cents": int(cents or 0)}


def gifts(session: Session, period, currency: str) -> dict:
    """Every payment received in the period is a gift (a one-time gift or one month of a monthly one):
    how many, the average (rounded to the cent) and the median (the middle gift; with an even number, the
    lower of the two middle ones), before refunds."""
    rows = session.execute(
        select(DonationPayment.amount_cents, func.count())
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.currency == currency,
               DonationPayment.paid_at >= period.start, DonationPayment.paid_at < period.end)
        .group_by(DonationPayment.amount_cents).order_by(DonationPayment.amount_cents)
    ).all()  # fmt: skip
    count = sum(int(n) for _, n in rows)
    total = sum(int(a) * int(n) for a, n in rows)
    median, seen, middle = 0, 0, (count + 1) // 2
    for amount, n in rows:  # distinct amounts only: the histogram, not the rows
        seen += int(n)
        if seen >= middle:
            median = int(amount)
            break
    return {
        "count": count,
        "total_cents": total,
        "average_cents": _half_up(total, count),
        "median_cents": median,
    }


def lifetime_value(session: Session, period, currency: str) -> dict:
    """Donor lifetime value at the end of the period: everything donors gave since their first gift, net
    of refunds and lost disputes, divided by the number of donors who gave at least once by then."""
    net, donors = session.execute(
        select(func.sum(DonationPayment.amount_cents - DonationPayment.refunded_cents - _lost()),
               func.count(func.distinct(Donation.donor_id)))
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.currency == currency,
               DonationPayment.paid_at < period.end, Donation.donor_id.is_not(None))
    ).one()  # fmt: skip
    net, donors = int(net or 0), int(donors)
    return {"donors": donors, "net_cents": net, "ltv_cents": _half_up(net, donors)}


def _givers(end: datetime):
    """Subscriber ids of donors with a gift received before ``end``."""
    return (
        select(Donor.subscriber_id)
        .join(Donation, Donation.donor_id == Donor.id)
        .where(Donor.subscriber_id.is_not(None), Donation.paid_at.is_not(None), Donation.paid_at < end)
    )


def conversion(session: Session, period) -> dict:
    """The share of readers who give: active readers who signed up before the end of the period, and how
    many of them have given at least once by then, per newsletter and per signup source."""
    givers = _givers(period.end)
    by_newsletter = newsletter_api.readers_by_newsletter(session, period.end, givers)
    by_source = newsletter_api.readers_by_source(session, period.end, givers)
    for row in by_newsletter + by_source:
        row["percent"] = round(100 * row["givers"] / row["readers"], 1) if row["readers"] else 0.0
    return {"by_newsletter": by_newsletter, "by_source": by_source}


def issue_donations(session: Session, period, currency: str, issues: list[dict] | None = None) -> dict:
    """Donations started from a link in an issue sent in the period (paid, or monthly and started): how
    many, and their amount (a one-time gift, or one month of a monthly one), in total and per 1,000
    recipients of the issue; and the same by link within the issue."""
    if issues is None:
        issues = newsletter_api.issue_recipients(session, period)
    ids = [i["issue_id"] for i in issues]
    rows = []
    if ids:
        link = func.coalesce(Donation.source_link, "")
        rows = session.execute(
            select(Donation.issue_id, link, func.count(),
                   func.sum(case((Donation.kind == DonationKind.MONTHLY, 1), else_=0)),
                   func.sum(Donation.amount_cents))
            .where(Donation.issue_id.in_(ids), Donation.paid_at.is_not(None), Donation.currency == currency)
            .group_by(Donation.issue_id, link).order_by(Donation.issue_id, link)
        ).all()  # fmt: skip
    per_issue: dict[int, dict] = {}
    links = []
    for issue_id, source_link, count, monthly, cents in rows:
        total = per_issue.setdefault(issue_id, {"donations": 0, "monthly": 0, "cents": 0})
        total["donations"] += int(count)
        total["monthly"] += int(monthly or 0)
        total["cents"] += int(cents or 0)
        links.append({"issue_id": issue_id, "link": source_link, "donations": int(count),
                      "monthly": int(monthly or 0), "amount_cents": int(cents or 0)})  # fmt: skip
    result = []
    for issue in issues:
        total = per_issue.get(issue["issue_id"], {"donations": 0, "monthly": 0, "cents": 0})
        recipients = issue["recipients"]
        result.append({
            "issue_id": issue["issue_id"], "subject": issue["subject"], "sent_at": issue["sent_at"],
            "recipients": recipients, "donations": total["donations"], "monthly": total["monthly"],
            "amount_cents": total["cents"],
            "donations_per_1000": round(1000 * total["donations"] / recipients, 2) if recipients else None,
            "cents_per_1000": _half_up(1000 * total["cents"], recipients) if recipients else None,
        })  # fmt: skip
    subjects = {i["issue_id"]: i["subject"] for i in issues}
    for row in links:
        row["subject"] = subjects.get(row["issue_id"], "")
    return {"issues": result, "links": links}


def dashboard(session: Session, period, *, currency: str, money: bool = True) -> dict:
    """Every figure of the statistics page, for the period and the one before it. ``money=False`` (an
    editor) leaves out everything about donors and money."""
    previous = period.previous()
    subscribers = newsletter_api.subscriber_months(session, period)
    previous_subscribers = newsletter_api.subscriber_months(session, previous)
    issues = newsletter_api.issue_rows(session, period)
    figures: dict = {
        "period": period.as_dict(),
        "previous_period": previous.as_dict(),
        "subscribers": {
            "months": subscribers,
            "total": newsletter_api.subscriber_totals(subscribers),
            "previous_total": newsletter_api.subscriber_totals(previous_subscribers),
            "active_now": newsletter_api.active_readers(session),
        },
        "issues": issues,
    }
    if not money:
        return figures
    revenue = revenue_by_month(session, period, currency)
    previous_revenue = revenue_by_month(session, previous, currency)
    mrr = mrr_by_month(session, period, currency)
    figures.update({
        "currency": currency.upper(),
        "other_currencies": other_currencies(session, period, currency),
        "revenue": {"months": revenue, "total": revenue_totals(revenue),
                    "previous_total": revenue_totals(previous_revenue)},
        "mrr": {"months": mrr, "start": mrr_at(session, period.start, currency),
                "previous_start": mrr_at(session, previous.start, currency)},
        "new_supporters": new_supporters(session, period, currency),
        "previous_new_supporters": new_supporters(session, previous, currency),
        "churn": churn(session, period, currency),
        "previous_churn": churn(session, previous, currency),
        "recovered": recovered(session, period, currency),
        "previous_recovered": recovered(session, previous, currency),
        "gifts": gifts(session, period, currency),
        "previous_gifts": gifts(session, previous, currency),
        "lifetime_value": lifetime_value(session, period, currency),
        "previous_lifetime_value": lifetime_value(session, previous, currency),
        "conversion": conversion(session, period),
        "issue_donations": issue_donations(
            session, period, currency,
            [{k: i[k] for k in ("issue_id", "subject", "sent_at", "recipients")} for i in issues],
        ),
    })  # fmt: skip
    return figures
