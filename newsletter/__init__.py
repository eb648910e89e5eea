"""The newsletter side of Beitrag, one package per domain. The one dependency rule: inside ``newsletter``
a package imports only the packages before it in ``platform <- mail <- staff <- readers <- editorial <-
sending <- stats <- demo``; ``payments`` imports only ``newsletter.api`` and ``newsletter.platform``; nothing
inside ``newsletter`` imports ``newsletter.api`` or ``payments`` (``.importlinter`` holds the contracts)."""
