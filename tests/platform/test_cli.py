"""``flask users`` and ``flask demo``. Bad inputs tried: a second account for the same address in other
case, an unknown role, a short password, mismatched password confirmation, an invalid address, demo
data into a database that already has content."""

from __future__ import annotations

from sqlalchemy import func, select

from newsletter.editorial.models import Article
from newsletter.platform.access import StaffRole
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription
from newsletter.staff.models import StaffUser
from tests.staff.factories import PASSWORD, sign_in, staff_user


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_users_create_asks_for_the_password_and_creates_an_admin(runner, db):
    result = runner.invoke(
        args=["users", "create", "Chefin@Example.org", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created admin Chefin@example.org" in result.output
    user = db.session.scalars(select(StaffUser)).one()
    assert user.role is StaffRole.ADMIN
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_users_create_refuses_a_taken_address_in_any_case(runner, db):
    staff_user(db, "chefin@example.org")
    result = runner.invoke(
        args=["users", "create", "CHEFIN@example.org", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 1
    assert "exists already" in result.output
    assert _count(db, StaffUser) == 1
    assert db.session.scalars(select(StaffUser)).one().role is StaffRole.EDITOR


def test_users_create_refuses_bad_input_and_writes_nothing(runner, db):
    cases = [
        (
            ["users", "create", "a@example.org", "--role", "owner"],
            f"{PASSWORD}\n{PASSWORD}\n",
            "Invalid value for '--role'",
        ),
        (["users", "create", "a@example.org"], "short\nshort\n", "at least 12 characters"),
        (["users", "create", "not-an-address"], f"{PASSWORD}\n{PASSWORD}\n", "not a valid e-mail address"),
        (["users", "create", "a@example.org"], f"{PASSWORD}\nsomething else entirely\n", "do not match"),
    ]
    for args, typed, message in cases:
        result = runner.invoke(args=args, input=typed)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert _count(db, StaffUser) == 0


def test_demo_load_fills_an_empty_database_and_prints_passwords_once(runner, db):
    result = runner.invoke(args=["demo", "load", "--subscribers", "400"])
    assert result.exit_code == 0, result.output
    assert _count(db, Newsletter) >= 3
    assert _count(db, Article) >= 25
    assert _count(db, Subscriber) == 400
    statuses = set(db.session.scalars(select(Subscriber.status).distinct()))
    assert {SubscriberStatus.ACTIVE, SubscriberStatus.PENDING, SubscriberStatus.UNSUBSCRIBED} <= statuses
    assert _count(db, Subscription) >= 400
    for email in ("admin@example.org", "editor@example.org"):
        line = next(line for line in result.output.splitlines() if email in line)
        password = line.split("password:")[1].strip()
        assert len(password) >= 12
    assert runner.invoke(args=["demo", "status"]).exit_code == 0


def test_demo_load_refuses_a_database_with_content_and_changes_nothing(runner, db):
    assert runner.invoke(args=["demo", "status"]).exit_code == 1
    assert runner.invoke(args=["demo", "load", "--subscribers", "50"]).exit_code == 0
    counts = [_count(db, m) for m in (Newsletter, Article, Subscriber, StaffUser)]
    again = runner.invoke(args=["demo", "load", "--subscribers", "50"])
    assert again.exit_code == 1
    assert "only into an empty database" in again.output
    assert [_count(db, m) for m in (Newsletter, Article, Subscriber, StaffUser)] == counts


def test_demo_articles_are_german_and_mark_advertisements(client, runner, db):
    runner.invoke(args=["demo", "load", "--subscribers", "20"])
    sponsored = db.session.scalars(select(Article).where(Article.sponsored.is_(True))).all()
    assert sponsored, "the demo shows how an advertisement is marked"
    titles = " ".join(db.session.scalars(select(Article.title)))
    assert any(ch in titles for ch in "äöüß")


def test_set_password_and_deactivate_end_sessions(app, runner, db):
    from tests.support.web import login

    browser = app.test_client()
    sign_in(browser, staff_user(db, "eda@example.org"))
    assert browser.get("/staff/").status_code == 200
    new = "another long passphrase"
    result = runner.invoke(args=["users", "set-password", "EDA@example.org"], input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert browser.get("/staff/").status_code == 302  # signed out
    assert login(browser, "eda@example.org", PASSWORD).status_code == 401
    assert login(browser, "eda@example.org", new).status_code == 302
    assert runner.invoke(args=["users", "deactivate", "eda@example.org"]).exit_code == 0
    assert browser.get("/staff/").status_code == 302
    assert login(browser, "eda@example.org", new).status_code == 401


def test_user_commands_name_a_missing_account(runner, db):
    result = runner.invoke(args=["users", "deactivate", "nobody@example.org"])
    assert result.exit_code == 1 and "no staff user" in result.output
    short = runner.invoke(args=["users", "set-password", "nobody@example.org"], input="x\nx\n")
    assert short.exit_code == 1
