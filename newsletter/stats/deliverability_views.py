"""The deliverability page (admins): the SPF, DKIM and DMARC records to publish, computed from the settings;
a check of the published ones through DNS on a button press (POST with CSRF, at most ``dns_lookup.BUDGET``
seconds); bounce and complaint rates per issue and per receiving domain, and the automatic pause's
thresholds. Thin: ``mail.dns_records``, ``mail.dns_lookup`` and ``stats.deliverability`` do the work."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from db import db
from newsletter.mail import alignment, dns_lookup, dns_records
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import percent
from newsletter.sending.autopause import Limits
from newsletter.stats import deliverability

bp = Blueprint("staff_deliverability", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.ADMIN)


def _page(checks: dict[str, dns_records.Comparison] | None = None, status: int = 200):
    config = current_app.config
    try:
        records = dns_records.expected(config)
    except alignment.AddressError:
        records = []  # MAIL_FROM is checked at start-up; this only guards the page
    html = render_template(
        "admin/deliverability.html", records=records, checks=checks, form=ActionForm(),
        issues=deliverability.by_issue(db.session), domains=deliverability.by_domain(db.session),
        limits=Limits.from_config(config), domain_issues=deliverability.DOMAIN_ISSUES,
        domain_rows=deliverability.DOMAIN_ROWS, percent=percent,
    )  # fmt: skip
    return html, status


@bp.get("/deliverability")
def deliverability_page():
    return _page()


@bp.post("/deliverability/check")
def deliverability_check():
    """Look the records up (one shared time budget) and compare them with what the settings ask for."""
    if not ActionForm().validate_on_submit():
        abort(400)
    lookups = dns_lookup.Lookups(current_app.config.get("DNS_NAMESERVERS") or ())
    checks = {}
    try:
        records = dns_records.expected(current_app.config)
    except alignment.AddressError:
        records = []
    for record in records:
        found = lookups.txt(record.name)
        if found is dns_lookup.UNREACHABLE:
            checks[record.name] = dns_records.Comparison(dns_records.UNREACHABLE)
        else:
            checks[record.name] = dns_records.compare(record, found)
    return _page(checks)
