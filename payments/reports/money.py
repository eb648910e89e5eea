"""Read-only money figures for the admin statistics: revenue, monthly recurring revenue, supporters, churn,
gifts, donor lifetime value, conversion and donations per issue.

One source of truth per figure: each figure is one function here, computed with SQL aggregates over the
ledgers (``donations``, ``donation_payments``); the dashboard, the staff JSON API and the CSV export all
call :func:`dashboard`, which calls them (the ledgers are read once, in ``ledgers``). Money is integer
cents in one currency (the configured ``DONATION_CURRENCY``); payments in any other currency are never
added in: they are listed apart (:func:`other_currencies`) so nobody misses them, and donors are counted by
their gifts in that currency.

A payment counts in the month (newsroom time zone) it was received (``paid_at``). Refunds and lost
disputes are deducted from the payment they concern, in that payment's month: the ledger keeps how much
was refunded, not when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db import Beside
from newsletter import api as newsletter_api
from payments.models import RECURRING, Donation, DonationPayment, Donor, DonorFirstGift
from payments.reports.ledgers import (
    PREVIOUS,
    RECEIVED,
    Ledger,
    MonthlyLedger,
    _at,
    _buckets,
    _half_up,
    _monthly_edges,
    _period_buckets,
    monthly_ledger,
    payment_ledger,
)


def revenue_by_month(session: Session, period, currency: str, ledger: Ledger | None = None) -> list[dict]:
    """Per calendar month: money received from one-time and monthly gifts (gross), minus refunds, minus
    lost disputes, giving ``net``. In cents, in ``currency`` only."""
    ledger = ledger or payment_ledger(session, period)
    result = []
    for index, month in enumerate(period.months(), 1):
        result.append({"month": month.label, **_revenue(ledger.select({index}, currency))})
    return result


def _revenue(rows) -> dict:
    gross = sum(r[3] * r[5] for r in rows)
    monthly = sum(r[3] * r[5] for r in rows if r[2])
    refunded, lost = sum(r[6] for r in rows), sum(r[7] for r in rows)
    return {
        "payments": sum(r[5] for r in rows), "gross_cents": gross, "one_time_cents": gross - monthly,
        "monthly_cents": monthly, "refunded_cents": refunded, "disputes_lost_cents": lost,
        "net_cents": gross - refunded - lost,
    }  # fmt: skip


def revenue_totals(rows: list[dict]) -> dict:
    """The period's sums of :func:`revenue_by_month` (the same rows, so the same figures)."""
    keys = ("payments", "gross_cents", "one_time_cents", "monthly_cents", "refunded_cents",
            "disputes_lost_cents", "net_cents")  # fmt: skip
    return {key: sum(row[key] for row in rows) for key in keys}


def covered_fees(session: Session, span, currency: str) -> int:
    """The part of the payments received in ``span`` that is fees donors chose to cover: revenue includes
    it (it is money donors paid); the MRR does not. Read from the payments (few carry a fee)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(DonationPayment.fee_covered_cents), 0))
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.currency == currency,
               DonationPayment.paid_at >= _at(span.start), DonationPayment.paid_at < _at(span.end),
               DonationPayment.fee_covered_cents > 0)
    ) or 0)  # fmt: skip


def previous_revenue_total(session: Session, period, currency: str, ledger: Ledger | None = None) -> dict:
    """:func:`revenue_totals` of the period before (the comparison)."""
    ledger = ledger or payment_ledger(session, period)
    return _revenue(ledger.select({PREVIOUS}, currency))


def other_currencies(session: Session, period, currency: str, ledger: Ledger | None = None) -> list[dict]:
    """Payments received in the period in a currency other than ``currency``: counted apart, never added."""
    ledger = ledger or payment_ledger(session, period)
    found: dict[str, list[int]] = {}
    for r in ledger.select(_period_buckets(period, False)):
        if r[1] != currency:
            total = found.setdefault(r[1], [0, 0])
            total[0] += r[5]
            total[1] += r[3] * r[5]
    return [{"currency": c.upper(), "payments": n, "gross_cents": g} for c, (n, g) in sorted(found.items())]


def mrr_by_month(session: Session, period, currency: str, ledger: MonthlyLedger | None = None) -> list[dict]:
    """At the end of each month of the period (or at the period's end): monthly recurring revenue = the
    sum of the monthly amounts of all recurring donations that have started (first payment received) and
    not ended by then, failing ones included until Stripe ends them; a yearly gift counts a twelfth of its
    amount, rounded to the cent per gift (``ledgers.monthly_share``); fees donors cover are not in it.
    ``supporters`` counts those donations, monthly and yearly."""
    ledger = ledger or monthly_ledger(session, _monthly_edges(period), currency)
    result = []
    for m in period.months():
        cents, count = ledger.running_by_subtraction(m.end)
        result.append({"month": m.label, "at": m.end, "mrr_cents": cents, "supporters": count})
    return result


def mrr_at(session: Session, moment: datetime, currency: str, ledger: MonthlyLedger | None = None) -> dict:
    """MRR and running monthly donations at one instant (the comparison's start)."""
    ledger = ledger or monthly_ledger(session, [moment], currency)
    cents, count = ledger.running(moment)
    return {"mrr_cents": cents, "supporters": count}


def first_gifts(session: Session, period, currency: str, *, from_ledger: bool = False) -> dict[int, int]:
    """Donors by the bucket (see :func:`_buckets`) of their first gift in ``currency`` (the first donation
    paid or started), for donors whose first gift came before the end of the period: one count over
    ``donor_first_gifts`` (kept by :mod:`first_gifts`), or over the donations when asked."""
    if from_ledger:
        first = (
            select(func.min(Donation.paid_at).label("first"))
            .where(Donation.paid_at.is_not(None), Donation.donor_id.is_not(None),
                   Donation.currency == currency, Donation.paid_at < period.end)
            .group_by(Donation.donor_id)
            .subquery()
        )  # fmt: skip
        column, where = first.c.first, ()
    else:
        column = DonorFirstGift.first_at
        where = (DonorFirstGift.currency == currency, DonorFirstGift.first_at < _at(period.end))
    bucket = _buckets(column, period).label("bucket")
    rows = session.execute(select(bucket, func.count()).where(*where).group_by(bucket))
    return {int(b): int(n) for b, n in rows}


def new_supporters(session: Session, period, currency: str, firsts: dict[int, int] | None = None,
                   previous: bool = False, ledger: MonthlyLedger | None = None) -> dict:  # fmt: skip
    """Donors whose first gift ever (a donation paid or started) falls in the period, and the monthly
    donations started in the period."""
    firsts = firsts if firsts is not None else first_gifts(session, period, currency)
    span = period.previous() if previous else period
    donors = sum(n for b, n in firsts.items() if b in _period_buckets(period, previous))
    return {"donors": donors, "monthly_started": monthly_started(session, span, currency, ledger)}


def monthly_started(session: Session, span, currency: str, ledger: MonthlyLedger | None = None) -> int:
    """Monthly donations whose first payment arrived in ``span``."""
    ledger = ledger or monthly_ledger(session, [span.start, span.end], currency)
    return ledger.started_in(span)


def churn(session: Session, period, currency: str, running_at_start: int | None = None,
          started: int | None = None, ledger: MonthlyLedger | None = None) -> dict:  # fmt: skip
    """Monthly donations that ended in the period: cancelled by the donor, lost to failed payments (Stripe
    gave up retrying), or ended otherwise (a dispute, staff); with the monthly amounts lost. ``rate`` is
    the ended ones over those running at the start plus those started in the period, in per cent."""
    ledger = ledger or monthly_ledger(session, [period.start, period.end], currency)
    found = ledger.ended_in(period)
    result = {}
    for key in ("cancelled", "failed", "other"):
        result[f"{key}_count"], result[f"{key}_mrr_cents"] = found.get(key, (0, 0))
    ended = sum(found.get(k, (0, 0))[0] for k in ("cancelled", "failed", "other"))
    if running_at_start is None:
        running_at_start = mrr_at(session, period.start, currency, ledger)["supporters"]
    if started is None:
        started = monthly_started(session, period, currency, ledger)
    base = running_at_start + started
    result["ended_count"] = ended
    result["rate_percent"] = round(100 * ended / base, 1) if base else 0.0
    return result


def recovered(session: Session, period, currency: str, ledger: Ledger | None = None,
              previous: bool = False) -> dict:  # fmt: skip
    """Payments received in the period after at least one failed attempt (Stripe's retry or the donor's
    new card worked): the money recovered."""
    ledger = ledger or payment_ledger(session, period)
    rows = [r for r in ledger.select(_period_buckets(period, previous), currency) if r[4]]
    return {"payments": sum(r[5] for r in rows), "cents": sum(r[3] * r[5] for r in rows)}


def gifts(session: Session, period, currency: str, ledger: Ledger | None = None,
          previous: bool = False) -> dict:  # fmt: skip
    """Every payment received in the period is a gift (a one-time gift or one month of a monthly one):
    how many, the average (rounded to the cent) and the median (the middle gift; with an even number, the
    lower of the two middle ones), before refunds."""
    ledger = ledger or payment_ledger(session, period)
    histogram: dict[int, int] = {}
    for r in ledger.select(_period_buckets(period, previous), currency):
        histogram[r[3]] = histogram.get(r[3], 0) + r[5]
    count = sum(histogram.values())
    total = sum(amount * n for amount, n in histogram.items())
    median, seen, middle = 0, 0, (count + 1) // 2
    for amount in sorted(histogram):  # distinct amounts only: the histogram, not the payments
        seen += histogram[amount]
        if seen >= middle:
            median = amount
            break
    average = _half_up(total, count)
    return {"count": count, "total_cents": total, "average_cents": average, "median_cents": median}


def lifetime_value(session: Session, period, currency: str, ledger: Ledger | None = None,
                   firsts: dict[int, int] | None = None, previous: bool = False) -> dict:  # fmt: skip
    """Donor lifetime value at the end of the period: everything donors gave since their first gift, net
    of refunds and lost disputes, divided by the number of donors who gave at least once by then."""
    ledger = ledger or payment_ledger(session, period)
    firsts = firsts if firsts is not None else first_gifts(session, period, currency)
    upto = {-1, PREVIOUS} if previous else {-1, PREVIOUS} | _period_buckets(period, False)
    rows = ledger.select(upto, currency)
    net = sum(r[3] * r[5] - r[6] - r[7] for r in rows)
    donors = sum(n for b, n in firsts.items() if b in upto)
    return {"donors": donors, "net_cents": net, "ltv_cents": _half_up(net, donors)}


def _givers(end: datetime, from_ledger: bool = False):
    """None: each reader's own ``first_gift_at`` says whether they gave before ``end`` (kept by
    :mod:`first_gifts`). ``from_ledger``: the subscriber ids of readers with a gift received before
    ``end``, from the donations, each once (two donor records may name the same reader)."""
    if not from_ledger:
        return None
    gave = (
        select(Donation.id)
        .where(Donation.donor_id == Donor.id, Donation.paid_at.is_not(None), Donation.paid_at < end)
        .exists()
    )
    readers = select(Donor.subscriber_id).where(Donor.subscriber_id.is_not(None), gave)
    return readers.group_by(Donor.subscriber_id)


def conversion(session: Session, period, *, from_ledger: bool = False, readers: dict | None = None,
               by_newsletter: list[dict] | None = None) -> dict:  # fmt: skip
    """The share of readers who give: active readers who signed up before the end of the period, and how
    many of them have given at least once by then, per newsletter and per signup source. ``readers``
    (:func:`newsletter.api.reader_figures` with these givers) and ``by_newsletter`` are passed in by the
    dashboard, which reads them beside its other figures."""
    givers = _givers(period.end, from_ledger)
    if by_newsletter is None:
        by_newsletter = newsletter_api.readers_by_newsletter(session, period.end, givers)
    if readers is not None:
        by_source = readers["by_source"]
    else:
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
                   func.sum(case((Donation.kind.in_(RECURRING), 1), else_=0)),
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


def attributed_donations(session: Session, period, currency: str) -> dict:
    """Donations received in the period (paid, or monthly and started), by the article page they were
    started from and by the link they came through (the ``link`` of the donate address: an issue's ask,
    an article page, a newsroom's own): how many, of them monthly, and their amount (a one-time gift, or
    one month of a monthly one)."""
    in_period = (
        Donation.paid_at >= period.start, Donation.paid_at < period.end, Donation.currency == currency,
    )  # fmt: skip
    counted = (func.count(), func.sum(case((Donation.kind.in_(RECURRING), 1), else_=0)),
               func.sum(Donation.amount_cents))  # fmt: skip

    def rows(key):
        found = session.execute(
            select(key, *counted).where(*in_period, key.is_not(None)).group_by(key)
            .order_by(func.sum(Donation.amount_cents).desc(), key)
        ).all()  # fmt: skip
        return [(name, int(n), int(m or 0), int(c or 0)) for name, n, m, c in found]

    articles = rows(Donation.article_slug)
    titles = newsletter_api.article_titles(session, [slug for slug, *_ in articles])
    return {
        "articles": [{"article": slug, "title": titles.get(slug, ""), "donations": n, "monthly": m,
                      "amount_cents": c} for slug, n, m, c in articles],
        "links": [{"link": link, "donations": n, "monthly": m, "amount_cents": c}
                  for link, n, m, c in rows(Donation.source_link)],
    }  # fmt: skip


def dashboard(session: Session, period, *, currency: str, from_ledger: bool = False) -> dict:
    """Every figure of the admin statistics page, for the period and the one before it: the newsletter's
    readers and issues (``newsletter.api``) and everything about donors and money. ``from_ledger`` reads
    every figure from the ledgers instead of the summaries (the tests prove both agree)."""
    previous = period.previous()
    givers = _givers(period.end, from_ledger)
    # The newsletter memberships, the monthly donations and the first gifts are read on a second connection
    # meanwhile, in the same snapshot (about half the page's database time on each core).
    beside = Beside(session, lambda side: (
        newsletter_api.readers_by_newsletter(side, period.end, givers),
        monthly_ledger(side, _monthly_edges(period), currency),
        first_gifts(side, period, currency, from_ledger=from_ledger),
    ))  # fmt: skip
    readers = newsletter_api.reader_figures(session, period, conversion=True, givers=givers)
    issues = newsletter_api.issue_rows(session, period, from_ledger=from_ledger)
    ledger = payment_ledger(session, period, from_ledger=from_ledger)
    revenue = revenue_by_month(session, period, currency, ledger)
    by_issue = issue_donations(
        session, period, currency,
        [{k: i[k] for k in ("issue_id", "subject", "sent_at", "recipients")} for i in issues],
    )  # fmt: skip
    by_newsletter, monthly, firsts = beside.result()
    start = mrr_at(session, period.start, currency, monthly)
    previous_start = mrr_at(session, previous.start, currency, monthly)
    new = new_supporters(session, period, currency, firsts, ledger=monthly)
    previous_new = new_supporters(session, period, currency, firsts, previous=True, ledger=monthly)
    return {
        "period": period.as_dict(),
        "previous_period": previous.as_dict(),
        "subscribers": newsletter_api.subscribers_summary(readers),
        "issues": issues,
        "currency": currency.upper(),
        "other_currencies": other_currencies(session, period, currency, ledger),
        "revenue": {"months": revenue, "total": revenue_totals(revenue),
                    "previous_total": previous_revenue_total(session, period, currency, ledger),
                    "covered_fees_cents": covered_fees(session, period, currency)},
        "mrr": {"months": mrr_by_month(session, period, currency, monthly), "start": start,
                "previous_start": previous_start},
        "new_supporters": new,
        "previous_new_supporters": previous_new,
        "churn": churn(session, period, currency, start["supporters"], new["monthly_started"], monthly),
        "previous_churn": churn(session, previous, currency, previous_start["supporters"],
                                previous_new["monthly_started"], monthly),
        "recovered": recovered(session, period, currency, ledger),
        "previous_recovered": recovered(session, period, currency, ledger, previous=True),
        "gifts": gifts(session, period, currency, ledger),
        "previous_gifts": gifts(session, period, currency, ledger, previous=True),
        "lifetime_value": lifetime_value(session, period, currency, ledger, firsts),
        "previous_lifetime_value": lifetime_value(session, period, currency, ledger, firsts, previous=True),
        "conversion": conversion(session, period, readers=readers, by_newsletter=by_newsletter),
        "issue_donations": by_issue,
        "attributed": attributed_donations(session, period, currency),
    }  # fmt: skip
