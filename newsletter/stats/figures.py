"""Read-only figures of the newsletter side for the statistics pages, the staff API and the CSV export.

Each figure is one function, computed with SQL aggregates over the tables that hold the facts: readers
(``subscribers``), their history (``subscriber_events``) and the send ledger (``deliveries``), or the
summaries written beside them (``sending.tallies``). The pages, the API and the CSV all call these
functions, so they always show the same numbers. No money here: the donations side adds its own figures
(``ports.MoneyReport``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from db import UTCDateTime
from newsletter import ports
from newsletter.editorial.models import Article, Issue
from newsletter.readers import sharing
from newsletter.readers.models import (
    Newsletter,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    WelcomeMail,
)
from newsletter.sending import clicks, welcome_clicks
from newsletter.sending.models import IssueTally
from newsletter.sending.tallies import (
    BOUNCE_KINDS,
    ISSUE_LEAVING_KINDS,
    LEAVING_KINDS,
    UNSUBSCRIBE_WINDOW,
    blamed_issue,
    ledger_counts,
)
from newsletter.staff.models import StaffUser
from newsletter.stats.periods import Period, edge_index, month_edges


def reader_figures(session: Session, period: Period, *, conversion: bool = False,
                   givers: Select | None = None) -> dict:  # fmt: skip
    """Readers per calendar month of the period and of the one before (``months``, ``previous_months``:
    see :func:`subscriber_months`) and ``active_now``, the readers who receive newsletters now (status
    active); with ``conversion`` also ``by_source``: see :func:`readers_by_source` (and
    :func:`_with_givers` for ``givers``).

    The readers are counted in ONE scan of ``subscribers`` grouped by one small integer that packs the
    month of their sign-up, the month of their confirmation, whether they are active and whether they
    gave (hashing one integer per reader costs far less than hashing four columns), and their source;
    their leaving and bouncing in one scan of their history."""
    previous = period.previous()
    edges = month_edges(previous, period)
    if not edges:
        return {"months": [], "previous_months": [], "active_now": 0, "by_source": []}
    width = len(edges) + 2  # edge indexes run 0 .. len(edges); len(edges) + 1 stands for "not confirmed"
    created = edge_index(Subscriber.created_at, edges)
    confirmed = func.coalesce(edge_index(Subscriber.confirmed_at, edges), width - 1)
    active = case((Subscriber.status == SubscriberStatus.ACTIVE, 1), else_=0)
    query, gave = select(Subscriber.source).select_from(Subscriber), literal(0)
    if conversion:
        query, gave = _with_givers(query, period.end, givers)
    key = (((created * width + confirmed) * 2 + active) * 2 + gave).label("k")
    readers = session.execute(query.add_columns(key, func.count()).group_by(key, Subscriber.source)).all()
    kinds = LEAVING_KINDS + BOUNCE_KINDS
    when = edge_index(SubscriberEvent.created_at, edges).label("at")
    events = session.execute(
        select(when, SubscriberEvent.kind, func.count())
        .where(SubscriberEvent.kind.in_(kinds), SubscriberEvent.created_at >= edges[0],
               SubscriberEvent.created_at < edges[-1])
        .group_by(when, SubscriberEvent.kind)
    ).all()  # fmt: skip
    new, confirmations, left, bounced = (defaultdict(int) for _ in range(4))
    sources: dict[str, list[int]] = {}
    before_end = edges.index(period.end)  # created before the end: an edge index at most this
    active_now = 0
    for source, packed, n in readers:
        rest, gave_flag = divmod(packed, 2)
        rest, is_active = divmod(rest, 2)
        created_at, confirmed_at = divmod(rest, width)
        new[created_at] += n
        if confirmed_at != width - 1:
            confirmations[confirmed_at] += n
        if is_active:
            active_now += n
            if created_at <= before_end:
                counts = sources.setdefault(source or "", [0, 0])
                counts[0] += n
                counts[1] += n * gave_flag
    for at, kind, n in events:
        (left if kind in LEAVING_KINDS else bounced)[at] += n

    def rows(of: Period) -> list[dict]:
        result = []
        for month in of.months():
            k = edges.index(month.start) + 1
            row = {"month": month.label, "new": new[k], "confirmed": confirmations[k],
                   "unsubscribed": left[k], "bounced": bounced[k]}  # fmt: skip
            row["net"] = row["confirmed"] - row["unsubscribed"] - row["bounced"]
            result.append(row)
        return result

    by_source = [
        {"source": source, "readers": n, "givers": g}
        for source, (n, g) in sorted(sources.items(), key=lambda item: (-item[1][0], item[0]))
    ] if conversion else []  # fmt: skip
    return {"months": rows(period), "previous_months": rows(previous), "active_now": active_now,
            "by_source": by_source}  # fmt: skip


def subscriber_months(session: Session, period: Period) -> list[dict]:
    """Per calendar month of the period: readers new (signed up or imported), confirmed (opt-in
    confirmed, or imported with recorded consent), unsubscribed, bounced (hard bounce or complaint), and
    net growth = confirmed - unsubscribed - bounced. Erased readers are gone from every count."""
    return reader_figures(session, period)["months"]


def subscriber_totals(rows: list[dict]) -> dict:
    """The sums of :func:`subscriber_months` over the period (the page's headline figures)."""
    keys = ("new", "confirmed", "unsubscribed", "bounced", "net")
    return {key: sum(row[key] for row in rows) for key in keys}


def unsubscribes_by_issue(
    session: Session, issue_ids: list[int], since: datetime, until: datetime | None = None, *,
    from_ledger: bool = False,
) -> dict[int, int]:  # fmt: skip
    """Readers who left because of each issue, each reader once per issue: leaving everything or one
    newsletter from the issue's own mail (its unsubscribe link, the one-click POST, the mailto address:
    the token names the issue) counts for that issue; any other leave counts for the last issue the
    reader was sent before leaving, if it was sent within the 7 days before (later leavers are not blamed
    on any issue). Read from the blame each leaving event got when it was written; ``from_ledger`` finds
    the issue again in the send ledger for every leaver from ``since`` (the first of the issues' send
    times) until ``until`` (7 days after the last), and for every leave that names one of the issues."""
    if not issue_ids:
        return {}
    event = SubscriberEvent
    readers = func.count(event.subscriber_id.distinct())
    if not from_ledger:
        rows = session.execute(
            select(event.issue_id, readers)
            .where(event.issue_id.in_(issue_ids), event.kind.in_(ISSUE_LEAVING_KINDS))
            .group_by(event.issue_id)
        )
        return {int(i): int(n) for i, n in rows}
    blamed = blamed_issue(session, event).label("issue_id")
    window = [event.created_at >= since]
    if until is not None:
        window.append(event.created_at <= until)
    named = event.detail["issue_id"].as_integer().in_(issue_ids)
    rows = session.execute(
        select(blamed, readers)
        .where(event.kind.in_(ISSUE_LEAVING_KINDS), or_(and_(*window), named))
        .group_by(blamed)
    )
    wanted = set(issue_ids)
    return {int(i): int(n) for i, n in rows if i is not None and i in wanted}


def issue_rows(session: Session, period: Period, *, from_ledger: bool = False) -> list[dict]:
    """Each issue sent in the period (by its send time): recipients (ledger rows), sent (accepted by the
    relay), failed, bounced, unsubscribed because of it, ``clicks`` (all its links together; None when it was
    sent without click counting) and ``links``, ``[(url, clicks), ...]`` in the order they appear.
    Sent issues are read from ``issue_tallies``; issues without one (or all, ``from_ledger``) are counted
    from the ledger."""
    issues = session.execute(
        select(Issue.id, Issue.subject, Issue.sent_at)
        .where(Issue.sent_at >= period.start, Issue.sent_at < period.end)
        .order_by(Issue.sent_at, Issue.id)
    ).all()
    ids = [i.id for i in issues]
    counts: dict[int, tuple] = {}
    if ids and not from_ledger:
        t = IssueTally
        rows = session.execute(
            select(t.issue_id, t.recipients, t.accepted, t.failed, t.bounced).where(t.issue_id.in_(ids))
        )
        counts = {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}
    live = [i for i in ids if i not in counts]
    if live:
        rows = session.execute(ledger_counts(live))
        counts.update({int(r[0]): tuple(int(v or 0) for v in r[1:]) for r in rows})
    unsubscribed = {}
    if ids:
        sent = [i.sent_at for i in issues]
        until = max(sent) + UNSUBSCRIBE_WINDOW
        unsubscribed = unsubscribes_by_issue(session, ids, min(sent), until, from_ledger=from_ledger)
    links = clicks.link_clicks(session, ids)  # only issues sent with click counting on have links
    result = []
    for issue in issues:
        recipients, sent, failed, bounced = counts.get(issue.id, (0, 0, 0, 0))
        result.append({
            "issue_id": issue.id, "subject": issue.subject, "sent_at": issue.sent_at,
            "recipients": recipients, "sent": sent, "failed": failed, "bounced": bounced,
            "unsubscribed": unsubscribed.get(issue.id, 0),
            "clicks": sum(n for _, n in links[issue.id]) if issue.id in links else None,
            "links": links.get(issue.id, []),
        })  # fmt: skip
    return result


def issue_recipients(session: Session, period: Period) -> list[dict]:
    """``issue_id``, subject, send time and recipients of the issues sent in the period (for the
    donations side's "per 1,000 recipients")."""
    return [
        {key: row[key] for key in ("issue_id", "subject", "sent_at", "recipients")}
        for row in issue_rows(session, period)
    ]


def _with_givers(query: Select, end: datetime, givers: Select | None):
    """``query`` over the readers, and a 1/0 expression: did the reader give before ``end``? Read from the
    reader's own ``first_gift_at`` (kept by the donations side), or, with ``givers`` (a SELECT of the
    subscriber ids of readers who gave before ``end``, each once: the ledger's answer), by joining them."""
    if givers is None:
        return query, case((Subscriber.first_gift_at < literal(end, UTCDateTime()), 1), else_=0)
    gave_ids = givers.subquery("givers")
    gave_id = next(iter(gave_ids.c))
    return query.outerjoin(gave_ids, gave_id == Subscriber.id), case((gave_id.is_not(None), 1), else_=0)


def readers_by_newsletter(session: Session, end: datetime, givers: Select | None = None) -> list[dict]:
    """Per newsletter: active readers who signed up before ``end``, and how many of them gave before then
    (see :func:`_with_givers` for ``givers``). Counted per newsletter id over the memberships, and only
    then named (a join with the newsletters per membership would cost as much as the count)."""
    query = select(Subscription.newsletter_id).select_from(Subscriber).join(
        Subscription, Subscription.subscriber_id == Subscriber.id
    )
    query, gave = _with_givers(query, end, givers)
    counts = (
        query.add_columns(func.count().label("readers"), func.sum(gave).label("givers"))
        .where(Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.created_at < end)
        .group_by(Subscription.newsletter_id)
        .subquery("counts")
    )
    rows = session.execute(
        select(Newsletter.id, Newsletter.name, counts.c.readers, counts.c.givers)
        .join(counts, counts.c.newsletter_id == Newsletter.id)
        .order_by(counts.c.readers.desc(), Newsletter.name)
    )
    return [
        {"newsletter_id": nid, "newsletter": name, "readers": int(n), "givers": int(g or 0)}
        for nid, name, n, g in rows
    ]


def readers_by_source(session: Session, end: datetime, givers: Select | None = None) -> list[dict]:
    """Per signup source (the form or import the reader came from; empty when unknown): active readers
    who signed up before ``end``, and how many of them gave before then."""
    source = func.coalesce(Subscriber.source, "")
    query, gave = _with_givers(select(source).select_from(Subscriber), end, givers)
    rows = session.execute(
        query.add_columns(func.count(), func.sum(gave))
        .where(Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.created_at < end)
        .group_by(source)
        .order_by(func.count().desc(), source)
    )
    return [{"source": src, "readers": int(n), "givers": int(g or 0)} for src, n, g in rows]


def welcome_rows(session: Session, period: Period) -> list[dict]:
    """Per newsletter: the welcome mails sent in the period (``sending.welcome``) and, when click counting
    is on, the clicks on its welcome's links (all of them: a link's counter has no date) with the clicks
    per link; ``clicks`` is None for a welcome whose links were never counted. Opens are never counted."""
    sent = dict(
        session.execute(
            select(WelcomeMail.newsletter_id, func.count(WelcomeMail.id))
            .where(WelcomeMail.status == "sent")
            .where(WelcomeMail.sent_at >= period.start, WelcomeMail.sent_at < period.end)
            .group_by(WelcomeMail.newsletter_id)
        ).all()
    )
    totals = welcome_clicks.total_clicks(session)
    ids = set(sent) | set(totals)
    if not ids:
        return []
    newsletters = session.execute(
        select(Newsletter.id, Newsletter.name)
        .where(Newsletter.id.in_(ids))
        .order_by(Newsletter.position, Newsletter.name)
    )
    return [
        {
            "newsletter": name,
            "sent": int(sent.get(newsletter_id, 0)),
            "clicks": totals.get(newsletter_id),
            "links": welcome_clicks.link_clicks(session, newsletter_id) if newsletter_id in totals else [],
        }
        for newsletter_id, name in newsletters
    ]


def subscribers_summary(readers: dict) -> dict:
    """The readers' part of the statistics page, from :func:`reader_figures`."""
    return {
        "months": readers["months"],
        "total": subscriber_totals(readers["months"]),
        "previous_total": subscriber_totals(readers["previous_months"]),
        "active_now": readers["active_now"],
    }


def dashboard(session: Session, period: Period, *, from_ledger: bool = False) -> dict:
    """The statistics page without money: readers and issues, for the period and the one before it (an
    editor's view, and every newsroom's without a donations side). ``from_ledger`` counts the issues from
    the send ledger instead of the tallies (the tests prove both agree)."""
    return {
        "period": period.as_dict(),
        "previous_period": period.previous().as_dict(),
        "subscribers": subscribers_summary(reader_figures(session, period)),
        "issues": issue_rows(session, period, from_ledger=from_ledger),
    }


def page_figures(session: Session, period: Period, *, money: bool) -> dict:
    """Every figure of a statistics page: with ``money`` the donations side's whole dashboard (readers and
    issues included), else the newsletter's own figures."""
    report = ports.money_report()
    if money and report is not None:
        return report.figures(session, period)
    return dashboard(session, period)


def share_figures(session: Session, period: Period) -> list[dict]:
    """Sign-ups through readers' share links in the period, per place of the link (the issue statistics'
    table and its CSV)."""
    return sharing.signups_by_place(session, period.start, period.end)


def overview(session: Session) -> tuple[dict[str, int], list[Article]]:
    """The staff overview: readers by state, newsletters, articles and staff counted; the latest articles."""
    statuses = select(Subscriber.status, func.count()).group_by(Subscriber.status)
    by_status = dict(session.execute(statuses).all())
    count = lambda model: session.scalar(select(func.count()).select_from(model)) or 0  # noqa: E731
    counts = {
        "active": by_status.get(SubscriberStatus.ACTIVE, 0),
        "pending": by_status.get(SubscriberStatus.PENDING, 0),
        "unsubscribed": by_status.get(SubscriberStatus.UNSUBSCRIBED, 0),
        "bounced": by_status.get(SubscriberStatus.BOUNCED, 0) + by_status.get(SubscriberStatus.COMPLAINED, 0),
        "newsletters": count(Newsletter),
        "articles": count(Article),
        "staff": count(StaffUser),
    }
    latest = session.scalars(select(Article).order_by(Article.published_at.desc()).limit(5)).all()
    return counts, list(latest)
