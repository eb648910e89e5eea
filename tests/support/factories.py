"""Test data made through the project's own services, so tests see what users would make."""

from __future__ import annotations

from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffUser

PASSWORD = "correct horse battery staple"


def staff_user(
    db, email: str = "editor@example.org", role: StaffRole | str = StaffRole.EDITOR, **kw
) -> StaffUser:
    user = accounts.create_staff_user(db.session, email, kw.pop("password", PASSWORD), role, **kw)
    db.session.commit()
    return user
