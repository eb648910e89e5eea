"""The statistics' summaries of the payment ledger, kept exact: written in the same flush (so the same
transaction) as the ledger change they sum (``payment_tallies``, ``first_gifts``). :func:`register_hooks`
runs them after every flush that touched a payment, a donation or a donor.

``backfill`` in migration ``0014_stats`` fills them (and ``issue_tallies``) from the ledgers with set-based
SQL; the benchmark's generator runs the same function after its bulk load, so an upgraded or bulk-loaded
database is exact at once.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from payments.models import Donation, DonationPayment, Donor
from payments.reports import first_gifts, payment_tallies


def _keep_summaries(session: Session, flush_context) -> None:
    """After the flush wrote the ledger rows, before the commit: history still holds the old values."""
    touched = [o for o in (*session.new, *session.dirty, *session.deleted)
               if isinstance(o, DonationPayment | Donation | Donor)]  # fmt: skip
    if not touched:
        return
    # Donor rows before tally rows, in every transaction: an event that links a donor has locked the
    # donor's row already, and two gifts of one donor on one day then never wait on each other crosswise.
    earlier, recompute = first_gifts.first_gift_changes(session)
    if earlier or recompute:
        first_gifts.apply_first_gifts(session, earlier, recompute)
    donors = {donor for donor, *_ in earlier} | {donor for donor, _ in recompute}
    relinked = first_gifts.relinked_readers(session)
    if donors or relinked:
        first_gifts.apply_reader_first_gifts(session, donors, relinked)
    deltas = payment_tallies.payment_deltas(session, flush_context)
    if deltas:
        payment_tallies.apply_payments(session, deltas)


def register_hooks() -> None:
    """Keep the summaries in every session's flush (once per process, whatever the number of apps)."""
    if not event.contains(Session, "after_flush", _keep_summaries):
        event.listen(Session, "after_flush", _keep_summaries)
