"""Who may open which staff page, asked of the running server: a signed-out visitor is sent to the login
from every staff page; an editor is refused every admin page (and reaches the editor pages). The pages are
walked from the app's URL map with the role each route asks for, so a new staff page (the admin stats
dashboard) is checked without touching this test. Bad input tried: ids that do not exist."""

from __future__ import annotations

from newsletter.platform.access import StaffRole, endpoint_role
from tests.e2e.eyes import sees, text

JOURNEY = "access"  # the screenshots' prefix


def _staff_pages(app) -> list[tuple[str, StaffRole]]:
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or "GET" not in rule.methods:
            continue
        role = endpoint_role(app, rule.endpoint)
        if role is None:
            continue  # the login page
        mail_name = "1700000000000000000-" + "0" * 32 + ".eml"
        values = {arg: mail_name if arg == "name" else 1 for arg in rule.arguments}
        pages.append((rule.build(values)[1], role))
    return sorted(pages)


def test_signed_out_visitor_is_refused_every_staff_page(eyes, stack, e2e_app):
    page = eyes.page
    pages = _staff_pages(e2e_app)
    assert len(pages) >= 20 and any(role is StaffRole.ADMIN for _, role in pages)
    for url, _role in pages:
        answer = page.request.get(url, max_redirects=0)
        assert answer.status == 302, f"{url} answered {answer.status} to a signed-out visitor"
        assert answer.headers["location"].startswith("/staff/login"), url
    page.goto("/staff/users")
    seen = text(page)
    assert "/staff/login" in page.url and "Anmeldung für die Redaktion" in seen
    # Forty refusals in a row leave one message, not forty (German once the catalogue has it).
    assert seen.count("Please sign in to see this page") + seen.count("Bitte melden Sie sich an") == 1
    eyes.look("login")


def test_editor_is_refused_the_admin_pages(eyes, stack, e2e_app, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["editor"])
    for url, role in _staff_pages(e2e_app):
        answer = page.request.get(url, max_redirects=0)
        if role is StaffRole.ADMIN:
            assert answer.status == 403, f"an editor opened the admin page {url} ({answer.status})"
            assert "Nicht erlaubt" in answer.text()
        elif answer.status == 302:  # sent back with a reason (the send confirmation of a sent issue)
            assert not answer.headers["location"].startswith("/staff/login"), f"an editor was refused {url}"
        else:
            assert answer.status in (200, 404), f"an editor was refused {url} ({answer.status})"
    page.goto("/staff/donations/")
    sees(page, "Nicht erlaubt")
    eyes.look("refused")
    page.goto("/staff/")
    assert "/staff/users" not in page.content() and "/staff/donations" not in page.content()
