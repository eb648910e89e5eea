"""Where a donation came from, in the staff's words: the issue, the link in it and the UTM parameters the
donate page was opened with (``payments.checkout.donations.attribution_from``), each part named."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

from payments.models import Donation

# The ``link`` parameter of the donate links Beitrag writes itself (newsletter.editorial.issues), by name;
# links a newsroom adds on its own are shown as they came.
OWN_LINKS = {"ask": _l("donation ask"), "article": _l("article page")}


_TOKEN_CHARS = re.compile(r"[^A-Za-z0-9._~:/-]")


def clean_tag(raw: Any, length: int = 100) -> str | None:
    """A short attribution value: printable ASCII without spaces, at most ``length`` characters."""
    if not isinstance(raw, str):
        return None
    value = _TOKEN_CHARS.sub("", raw.strip())[:length]
    return value or None


def checkout_metadata(donation: Donation) -> dict[str, str]:
    """Where the gift came from, as Stripe metadata beside our ids (strings; empty ones left out)."""
    values = {"issue_id": str(donation.issue_id) if donation.issue_id else "", "link": donation.source_link,
              "article": donation.article_slug}  # fmt: skip
    return {key: value for key, value in values.items() if value}


def from_checkout_metadata(metadata: Any) -> tuple[int | None, str | None, str | None]:
    """``(issue_id, link, article)`` as :func:`checkout_metadata` wrote them, checked like a request's."""
    metadata = metadata if isinstance(metadata, dict) else {}
    raw_issue = metadata.get("issue_id")
    well_formed = isinstance(raw_issue, str) and raw_issue.isdigit() and len(raw_issue) < 10
    issue_id = int(raw_issue) if well_formed else None
    return issue_id, clean_tag(metadata.get("link")), clean_tag(metadata.get("article"), 200)


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
