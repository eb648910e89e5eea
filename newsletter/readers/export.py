"""The staff's CSV export of readers, streamed, with the filters of the reader list."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from newsletter.platform.csv_cells import csv_line
from newsletter.readers import newsletters as newsletter_service
from newsletter.readers import roster

EXPORT_HEADER = (
    "email",
    "status",
    "locale",
    "source",
    "newsletters",
    "created_at",
    "confirmed_at",
    "consent_basis",
)


def iter_export(session: Session, flt: roster.SubscriberFilter) -> Iterator[str]:
    """The readers of a filtered staff view as CSV (UTF-8 with BOM for spreadsheets), streamed."""
    slugs = {n.id: n.slug for n in newsletter_service.list_newsletters(session)}
    yield "\ufeff" + csv_line(EXPORT_HEADER)
    after = None
    while True:
        result = roster.page(session, flt, after=after, size=2000)
        for r in result.rows:
            yield csv_line(
                [
                    r.email,
                    r.status.value,
                    r.locale,
                    r.source or "",
                    # "|", a separator the import splits on (imports.rows): an export imports again as it is
                    "|".join(sorted(slugs.get(n, "") for n in result.newsletters.get(r.id, []))),
                    r.created_at.isoformat(),
                    r.confirmed_at.isoformat() if r.confirmed_at else "",
                    r.consent_basis.value if r.consent_basis else "",
                ]
            )
        session.expunge_all()
        if result.next_after is None:
            return
        after = result.next_after
