"""What the worker fills in per reader (``sending.slots.RecipientSlots``): each message its own Message-ID, a
true Date, the reader's own signed links, and a List-Unsubscribe whose https and mailto addresses carry
the same token. Bad inputs tried: the same ledger row sent again in a later chunk, a reader id changed
in the token."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest

from newsletter.platform import tokens
from newsletter.readers import links
from newsletter.sending import slots

KEY = "a-secret-key-for-slots-a-secret-key-for-slots"


def _slots(*, issue_id: int = 12, secret_key: str = KEY) -> slots.RecipientSlots:
    return slots.RecipientSlots(
        base_url="https://news.example.org", secret_key=secret_key,
        unsubscribe_mailbox="abmelden@news.example.org", issue_id=issue_id, domain="news.example.org",
    )  # fmt: skip


def test_a_readers_copy_keeps_its_message_id_when_sent_again_and_no_other_copy_shares_it():
    chunk = _slots()
    first, second = chunk("a@example.org", 5, 1, 100), chunk("b@example.org", 6, 1, 101)
    again = _slots()("a@example.org", 5, 1, 100)  # the same ledger row sent again in a later chunk
    assert again["message_id"] == first["message_id"]  # receivers can fold an uncertain copy sent again
    assert second["message_id"] != first["message_id"]
    assert all(i.startswith("<12.") and i.endswith("@news.example.org>") for i in (first["message_id"],
                                                                                 second["message_id"]))
    other_issue = _slots(issue_id=13)("a@example.org", 5, 1, 100)["message_id"]
    other_installation = _slots(secret_key="another-installation-secret")("a@example.org", 5, 1, 100)
    assert len({first["message_id"], other_issue, other_installation["message_id"]}) == 3


def test_the_date_is_now_and_the_links_are_the_readers_own():
    values = _slots()("leserin@example.org", 42, 7, 100)
    assert values["to"] == "leserin@example.org"
    assert abs(parsedate_to_datetime(values["date"]).timestamp() - time.time()) < 5
    https, mailto = (part.strip(" <>") for part in values["list_unsubscribe"].split(","))
    assert https == values["unsubscribe_url"]
    token = https.removeprefix("https://news.example.org/unsubscribe/")
    assert mailto == f"mailto:abmelden@news.example.org?subject=unsubscribe-{token}"
    assert links.read_unsubscribe_token(KEY, token) == (42, 7)
    # A forwarded issue must not open its reader's settings: the link asks for them by mail instead.
    assert values["preferences_url"] == f"{https}/settings"
    assert "/preferences/" not in "".join(values.values())
    with pytest.raises(tokens.TokenError):
        links.read_unsubscribe_token(KEY, token.replace("42-", "43-", 1))


def test_without_a_mailbox_that_reads_opt_outs_the_header_names_the_one_click_link_only():
    """A mailto nobody reads loses the opt-outs sent to it; receivers then use the https link."""
    values = slots.RecipientSlots(
        base_url="https://news.example.org", secret_key=KEY, unsubscribe_mailbox=None, issue_id=12,
        domain="news.example.org",
    )("leserin@example.org", 42, 7, 100)  # fmt: skip
    assert values["list_unsubscribe"] == f"<{values['unsubscribe_url']}>"
    assert "mailto" not in "".join(values.values())


@pytest.mark.parametrize(
    ("config", "address"),
    [
        ({}, None),  # no mailbox polled: no mailto
        ({"BOUNCE_DOMAIN": "bounces.news.example.org"}, None),
        ({"BOUNCE_DOMAIN": "bounces.news.example.org", "BOUNCE_MAILBOX_URL": "imaps://u:p@mail.example.org"},
         "bounces+unsubscribe@bounces.news.example.org"),  # the bounces+* route delivers it to that mailbox
        ({"MAIL_FROM": "redaktion@news.example.org", "UNSUBSCRIBE_MAILBOX_URL": "imaps://u:p@mail.example.org"},
         "unsubscribe@news.example.org"),  # a mailbox of its own: the documented default address
        ({"MAIL_UNSUBSCRIBE_ADDRESS": "abmelden@news.example.org"}, "abmelden@news.example.org"),
    ],
)  # fmt: skip
def test_the_mailto_address_is_one_that_a_mailbox_beitrag_reads(config, address):
    from newsletter.sending import unsubscribe_mails

    assert unsubscribe_mails.mailto_address(config) == address
