"""Supporters: a reader's supporter state, donors for admins, the mails to donors (through the shared
outbox), yearly giving statements, and the staff pages of donations."""
