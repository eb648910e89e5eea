"""What the readers' services refuse with. Each message is meant for the person who asked (pages translate
the known ones for editors, ``staff_texts``)."""

from __future__ import annotations


class SubscriberError(ValueError):
    """The request cannot be carried out; the message is meant for the person who made it."""


class InvalidEmail(SubscriberError):
    """Not an address Beitrag can mail."""


class Suppressed(SubscriberError):
    """The address is on the suppression list: only the reader's own confirmed opt-in lifts it."""
