"""Mail: rendering (the only module importing mjml), MIME skeletons, DKIM signing, the SMTP relay (the only
module speaking SMTP), signed bounce addresses, transactional mail, the outbox mechanism every package's
mails share, and the adapters of the bounce intakes (IMAP/POP3 mailbox, Amazon SNS). Adapters take plain
values and know no Flask request."""

from __future__ import annotations

from flask import Flask

from newsletter.mail import (
    cli,  # noqa: F401  (its command joins the dev group)
    rendering,
    signing,
)
from newsletter.platform import worker


def _compile_templates(app: Flask) -> None:
    rendering.get_renderer(app).compile_templates()


def init_app(app: Flask) -> None:
    app.config["DKIM_KEY"] = signing.key_from_config(app.config)
    rendering.init_app(app)
    worker.warm_up_with(app, _compile_templates)
