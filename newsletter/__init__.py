"""The newsletter side of Beitrag, one package per domain (README, Layout). The dependency rule: inside
``newsletter`` a package imports only the packages below it in ``platform | ports <- mail <- staff <-
readers <- editorial <- sending <- stats <- demo``; ``payments`` imports only ``newsletter.api`` and
``newsletter.platform``; nothing inside ``newsletter`` imports ``newsletter.api``, ``newsletter.jobs`` or
``payments``. The contracts that check it are in ``pyproject.toml`` (``make lint``)."""
