"""Bounce and complaint rates for the deliverability page: per issue (the recent ones) and per receiving
domain (the big German and international mailbox providers, the rest together). SQL aggregates that run
alike on PostgreSQL and SQLite.

The figures are the ones the automatic pause judges (``sending.autopause``): a message counts as accepted
when the relay took it (sent, or bounced later), a hard bounce or a complaint is a ledger row that such a
report made ``bounced`` (its reply starts with the kind), and "refused" are the relay's own 5xx refusals
and messages out of retries (``failed``). A complaint that arrives after a hard bounce of the same
message is not counted twice.

Cost: per issue, the bounced rows (index ``(issue_id, status)``) and the issue's tally, or its ledger
counted when it has none yet (still sending); per domain, the newest :data:`DOMAIN_ROWS` ledger rows of
the last :data:`DOMAIN_ISSUES` issues joined with their readers, so the page stays quick after a send to
a million readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from newsletter.editorial.models import Issue, IssueState
from newsletter.readers.models import Subscriber
from newsletter.sending.models import Delivery, DeliveryStatus, IssueTally
from newsletter.sending.tallies import ACCEPTED, ledger_counts

RECENT_ISSUES = 10
DOMAIN_ISSUES = 5
DOMAIN_ROWS = 100_000  # the per-domain figures read at most this many of the newest ledger rows
SENT_STATES = (IssueState.SENDING, IssueState.PAUSED, IssueState.SENT, IssueState.CANCELLED)

# Receiving domains shown on their own; every other domain is counted under OTHERS.
DOMAIN_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Gmail", ("gmail.com", "googlemail.com")),
    ("GMX", ("gmx.de", "gmx.net", "gmx.at", "gmx.ch")),
    ("WEB.DE", ("web.de",)),
    ("T-Online", ("t-online.de", "magenta.de")),
    ("Microsoft", ("outlook.com", "outlook.de", "hotmail.com", "hotmail.de", "live.com", "msn.com")),
    ("Yahoo", ("yahoo.com", "yahoo.de", "ymail.com", "rocketmail.com")),
    ("Apple", ("icloud.com", "me.com", "mac.com")),
    ("Posteo", ("posteo.de",)),
    ("mailbox.org", ("mailbox.org",)),
    ("freenet", ("freenet.de",)),
)
OTHERS = "others"


@dataclass(frozen=True)
class Rates:
    label: str  # the issue's subject, or the domain group's name
    accepted: int
    hard: int
    complaints: int
    refused: int
    issue_id: int | None = None
    state: str | None = None

    @property
    def hard_rate(self) -> float | None:
        return self.hard / self.accepted if self.accepted else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.accepted if self.accepted else None

    @property
    def refused_rate(self) -> float | None:
        attempted = self.accepted + self.refused
        return self.refused / attempted if attempted else None


def _report_kind():
    """``hard``, ``complaint`` or None for a ledger row, from the reply ``bounces`` wrote."""
    return case(
        (Delivery.reply.like("complaint:%"), "complaint"),
        (Delivery.reply.like("hard:%"), "hard"),
        else_=None,
    )


def by_issue(session: Session, limit: int = RECENT_ISSUES) -> list[Rates]:
    """The last ``limit`` issues that left the draft state and went (at least partly) out, newest first."""
    issues = session.execute(
        select(Issue.id, Issue.subject, Issue.state)
        .where(Issue.state.in_(SENT_STATES))
        .order_by(Issue.id.desc())
        .limit(limit)
    ).all()
    ids = [row.id for row in issues]
    if not ids:
        return []
    kind = _report_kind().label("kind")
    reports: dict[tuple[int, str], int] = {}
    for issue_id, which, n in session.execute(
        select(Delivery.issue_id, kind, func.count())
        .where(Delivery.issue_id.in_(ids), Delivery.status == DeliveryStatus.BOUNCED)
        .group_by(Delivery.issue_id, kind)
    ):
        reports[(issue_id, which)] = n
    totals = {t.issue_id: (t.accepted, t.failed) for t in session.scalars(
        select(IssueTally).where(IssueTally.issue_id.in_(ids)))}  # fmt: skip
    missing = [i for i in ids if i not in totals]
    if missing:
        for issue_id, _recipients, accepted, failed, _bounced in session.execute(ledger_counts(missing)):
            totals[issue_id] = (int(accepted or 0), int(failed or 0))
    return [
        Rates(label=row.subject, issue_id=row.id, state=IssueState(row.state).value,
              accepted=totals.get(row.id, (0, 0))[0], refused=totals.get(row.id, (0, 0))[1],
              hard=reports.get((row.id, "hard"), 0), complaints=reports.get((row.id, "complaint"), 0))
        for row in issues
    ]  # fmt: skip


def by_domain(session: Session, limit: int = DOMAIN_ISSUES, rows_limit: int = DOMAIN_ROWS) -> list[Rates]:
    """Rates per receiving domain group over the newest ``rows_limit`` ledger rows of the last ``limit``
    issues that went out (a bound on the join with the readers: 0.5 to 1.2 s for 100,000 rows on a busy
    2-core machine), the groups in the order of :data:`DOMAIN_GROUPS`, then :data:`OTHERS`; groups
    without messages are left out."""
    recent = select(Issue.id).where(Issue.state.in_(SENT_STATES)).order_by(Issue.id.desc()).limit(limit)
    ids = list(session.scalars(recent))
    if not ids:
        return []
    email = func.lower(Subscriber.email)
    if session.get_bind().dialect.name == "postgresql":
        domain = func.split_part(email, "@", 2)
    else:
        domain = func.substr(email, func.instr(email, "@") + 1)
    group = case(
        *[(domain.in_(domains), name) for name, domains in DOMAIN_GROUPS],
        (domain.like("yahoo.%"), "Yahoo"),
        else_=OTHERS,
    ).label("grp")

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    bounced = Delivery.status == DeliveryStatus.BOUNCED
    newest = (
        select(Delivery.id).where(Delivery.issue_id.in_(ids)).order_by(Delivery.id.desc()).limit(rows_limit)
    ).subquery()
    rows = session.execute(
        select(
            group,
            count(Delivery.status.in_(ACCEPTED)),
            count(bounced & Delivery.reply.like("hard:%")),
            count(bounced & Delivery.reply.like("complaint:%")),
            count(Delivery.status == DeliveryStatus.FAILED),
        )
        .join(newest, newest.c.id == Delivery.id)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .group_by(group)
    ).all()
    found = {name: Rates(label=name, accepted=int(a or 0), hard=int(h or 0), complaints=int(c or 0),
                         refused=int(f or 0)) for name, a, h, c, f in rows}  # fmt: skip
    order = [name for name, _ in DOMAIN_GROUPS] + [OTHERS]
    return [found[name] for name in order if name in found and (found[name].accepted or found[name].refused)]
