"""``flask --app app dev mailcapture``: the development SMTP capture."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from newsletter.mail import capture
from newsletter.platform.cli import dev_cli


@dev_cli.command("mailcapture")
@with_appcontext
def mailcapture_command() -> None:
    """Run the SMTP capture server that the embedded default SMTP_URL points at."""
    port = current_app.config["MAIL_CAPTURE_PORT"]
    controller = capture.serve(current_app.config["MAIL_CAPTURE_DIR"], port=port)
    click.echo(f"Capturing mail on 127.0.0.1:{port} into {current_app.config['MAIL_CAPTURE_DIR']}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()

