"""A real IMAP and POP3 server for tests: Debian's dovecot (packages dovecot-imapd, dovecot-pop3d) with
its own configuration, mail and sockets in a temporary folder, on free loopback ports, stopped by its pid.
The machine's own dovecot (if any) is not touched.

Messages are put into the user's Maildir as files, the way a local delivery agent does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.smtp import free_port

USER, PASSWORD = "bounces", "s3cret-bounces"


def available() -> bool:
    return shutil.which("dovecot") is not None or Path("/usr/sbin/dovecot").exists()


class Dovecot:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: the mail user (not root) must be able to reach the folder.
        self.root = Path(tempfile.mkdtemp(prefix="beitrag-dovecot-"))
        self.root.chmod(0o755)
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.process: subprocess.Popen | None = None
        running_as_root = os.geteuid() == 0
        account = pwd.getpwnam("dovecot") if running_as_root else pwd.getpwuid(os.geteuid())
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.maildir = self.root / "mail" / USER

    def url(self, protocol: str = "imap") -> str:
        port = self.imap_port if protocol == "imap" else self.pop3_port
        suffix = "/INBOX" if protocol == "imap" else ""
        return f"{protocol}://{USER}:{PASSWORD}@127.0.0.1:{port}{suffix}"

    def _config(self) -> str:
        root = self.root
        login_user = "dovenull" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        internal_user = "dovecot" if os.geteuid() == 0 else login_user
        return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
"""

    def start(self) -> None:
        for sub in ("run", "state", "home", f"home/{USER}"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        self._own(self.root / "mail")
        self._own(self.root / "home")
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.root / "passwd").chmod(0o644)
        config = self.root / "dovecot.conf"
        config.write_text(self._config())
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                raise RuntimeError(f"dovecot did not start: {output} {self.log()}")
            if _listening(self.imap_port) and _listening(self.pop3_port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen in time: {self.log()}")

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        for folder, dirs, files in os.walk(path):
            os.chown(folder, self.uid, self.gid)
            for name in (*dirs, *files):
                os.chown(os.path.join(folder, name), self.uid, self.gid)

    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text()[-3000:]
        except OSError:
            return ""

    def deliver(self, raw: bytes) -> None:
        """Put a message into the INBOX (tmp, then rename into new, as Maildir asks)."""
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.beitrag-test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(tmp, self.uid, self.gid)
        tmp.rename(self.maildir / "new" / name)

    def count(self) -> int:
        return sum(1 for sub in ("new", "cur") for _ in (self.maildir / sub).iterdir())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
