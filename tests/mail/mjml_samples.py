"""Every e-mail template as MJML, with the values a real message has: the transactional messages, and the
two issue layouts in every ask variant, with articles (lead image, sponsored, credit, author), an editorial,
the ask block with a supporter goal and the footer. Shared by the reference comparisons."""

from __future__ import annotations

from datetime import timedelta

from markupsafe import Markup

from newsletter.mail import rendering

BASE_URL = "https://ki-kompass.example"

TRANSACTIONAL: dict[str, dict] = {
    "confirm_subscription": {
        "confirm_url": f"{BASE_URL}/bestaetigen/abc",
        "newsletter_names": ["KI-Kompass am Morgen", "Wochenende"],
    },
    "donation_card_failed": {"amount": "12,00 €", "manage_url": f"{BASE_URL}/spenden/verwalten/abc"},
    "donation_ended": {"amount": "12,00 €", "donate_url": f"{BASE_URL}/spenden"},
    "donation_receipt": {
        "monthly": True, "first": True, "amount": "12,00 €",
        "manage_url": f"{BASE_URL}/spenden/verwalten/abc",
        "paid_on": "7. Dezember 2026", "receipt_number": "B-2026-00042",
    },
    "giving_statement": {
        "lines": [
            {"monthly": True, "amount": "12,00 €", "date": "7. Januar 2026"},
            {"monthly": False, "amount": "50,00 €", "date": "3. März 2026"},
        ],
        "year": 2026, "address": "leserin@example.org", "total": "62,00 €", "note": None,
    },
    "preferences_link": {"preferences_url": f"{BASE_URL}/einstellungen/abc"},
    "tax_receipt": {"number": "ZB-000042", "year": 2026, "collective": True},
    "staff_invitation": {
        "inviter": "Eda Admin", "role": "editor", "hours": 72, "invitation_url": f"{BASE_URL}/einladung/abc",
    },
    "staff_password_reset": {"hours": 2, "reset_url": f"{BASE_URL}/passwort/abc"},
    "digest_draft": {
        "digest_subject": "KI am Morgen", "newsletter": "KI-News täglich", "articles": 3,
        "slot": "07.12.2026 07:00", "held": True, "reason": "", "issue_url": f"{BASE_URL}/staff/issues/7",
    },
    "test_message": {},
    "welcome": {
        "welcome_subject": "Willkommen bei KI-News am Morgen", "newsletter_name": "KI-News am Morgen",
        "preheader": "Willkommen bei KI-News am Morgen",
        "intro_html": Markup("<p>Schön, dass Sie <strong>da</strong> sind.</p>"),
        "intro_text": "Schön, dass Sie da sind.",
        "latest_issue": {"subject": "KI-News am Dienstag", "url": f"{BASE_URL}/archive/42?k=abc"},
        "articles": [
            {"title": "Was das neue Sprachmodell für Behörden bedeutet", "teaser": "Ein Anriss.",
             "author": "Mara Schulz", "url": f"{BASE_URL}/artikel/meldung-1", "image_url": None,
             "image_alt": None, "image_credit": None, "sponsored": False},
        ],
        "web_url": "", "variant": "default", "goal": None,
        "donate_url": f"{BASE_URL}/spenden?link=welcome", "unsubscribe_url": f"{BASE_URL}/unsubscribe/abc",
        "preferences_url": f"{BASE_URL}/unsubscribe/abc/settings",
    },
}  # fmt: skip

INTRO = (
    "Liebe Leserinnen und Leser,\n\nheute mit **drei Schwerpunkten**, einem [Hinweis](https://ki-kompass.example/)"
    " und einer Liste:\n\n- [Chips](https://ki-kompass.example/chips)\n- Agenten"
)


def _issue(layout: str):
    from db import utcnow
    from newsletter.editorial.models import Article, Issue, IssueArticle, IssueLayout, IssueState

    issue = Issue(
        id=42,
        subject="KI-News am Dienstag: Chips, Agenten und offene Modelle",
        preheader="Die Woche in fünf Minuten",
        intro=INTRO,
        layout=IssueLayout(layout),
        state=IssueState.DRAFT,
        sender_name="KI-Kompass",
        sender_address="redaktion@ki-kompass.example",
    )
    now = utcnow()
    issue.items = [
        IssueArticle(
            position=n,
            article=Article(
                title=f"Meldung {n}: Was das neue Sprachmodell für Behörden bedeutet",
                teaser="Ein Anriss von etwa zwei Sätzen, wie ihn die Redaktion schreibt. " * 2,
                author="Mara Schulz" if n != 2 else None,
                canonical_url=f"{BASE_URL}/artikel/meldung-{n}",
                image_url=f"{BASE_URL}/bilder/{n}.png",
                image_credit="Foto: Redaktion",
                sponsored=n == 3,
                published_at=now - timedelta(hours=n),
            ),
        )
        for n in range(5)
    ]
    return issue


def sources(renderer: rendering.EmailRenderer, locale: str = "de") -> dict[str, str]:
    """{name: MJML} for every template (call inside an app context)."""
    from newsletter.editorial import issues

    found = {name: renderer.render_mjml(name, context, locale) for name, context in TRANSACTIONAL.items()}
    receipt = {**TRANSACTIONAL["donation_receipt"], "monthly": False, "first": False}
    found["donation_receipt-one_time"] = renderer.render_mjml("donation_receipt", receipt, locale)
    for layout in ("digest", "feature"):
        issue = _issue(layout)
        for variant in issues.VARIANTS:
            context = issues.issue_context(issue, variant, base_url=BASE_URL, locale=locale)
            context["goal"] = {"count": 412, "goal": 500} if variant == "default" else None
            found[f"issue_{layout}-{variant}"] = renderer.render_mjml(f"issue_{layout}", context, locale)
    return found
