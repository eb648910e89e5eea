"""Where a donation came from, in the staff's words: the issue, the link in it and the UTM parameters the
donate page was opened with (``payments.checkout.donations.attribution_from``), each part named."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from payments.models import Donation

# The ``link`` parameter of the donate links Beitrag writes itself (newsletter.editorial.issues), by name;
# links a newsroom adds on its own are shown as they came.
OWN_LINKS = {"ask": _l("donation ask")}


def link_label(link: str) -> str:
    return str(OWN_LINKS.get(link, link))


def came_via(donation: Donation) -> str:
    """"issue 4 · donation ask · source: website", or "–" when nothing is known."""
    parts = []
    if donation.issue_id:
        parts.append(str(_l("issue %(id)s", id=donation.issue_id)))
    if donation.source_link:
        own = donation.source_link in OWN_LINKS
        parts.append(link_label(donation.source_link) if own
                     else str(_l("link: %(name)s", name=donation.source_link)))  # fmt: skip
    for value, label in (
        (donation.utm_source, _l("source: %(name)s", name=donation.utm_source)),
        (donation.utm_medium, _l("medium: %(name)s", name=donation.utm_medium)),
        (donation.utm_campaign, _l("campaign: %(name)s", name=donation.utm_campaign)),
        (donation.article_slug, _l("article: %(name)s", name=donation.article_slug)),
    ):
        if value:
            parts.append(str(label))
    return " · ".join(parts) or "–"
