"""A real IMAP server for the tests: Debian's Dovecot on a loopback port, with
a temporary configuration, password file and maildir; TLS (IMAPS and STARTTLS)
with a throw-away self-signed certificate. One server per test session; the
tests skip when Dovecot is not installed (``.ci/run`` installs it)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

USER, PASSWORD = "support@desk.example", "imap-secret"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


def binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="hookdesk-dovecot-")
        os.chmod(self.root, 0o755)
        self.port, self.tls_port = _free_port(), _free_port()
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.root, sub))
        with open(os.path.join(self.root, "passwd"), "w") as fh:
            fh.write(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        if os.geteuid() == 0:  # Dovecot never runs a mailbox as root: its own users
            mail_user = pwd.getpwnam("dovecot")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            login_user, internal_user = "dovenull", "dovecot"
            os.chown(os.path.join(self.root, "mail"), uid, gid)
        else:
            uid, gid = os.geteuid(), os.getegid()
            login_user = internal_user = pwd.getpwuid(uid).pw_name
        self.tls = self._certificate()
        ssl_files = (f"ssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem"
                     if self.tls else "")
        self.config = os.path.join(self.root, "dovecot.conf")
        with open(self.config, "w") as fh:
            fh.write(CONFIG.format(root=self.root, port=self.port,
                                   tls_port=self.tls_port if self.tls else 0,
                                   ssl="yes" if self.tls else "no", ssl_files=ssl_files,
                                   uid=uid, gid=gid, login_user=login_user,
                                   internal_user=internal_user))
        # The daemon keeps any pipe it is given open: no output capture.
        subprocess.run([binary(), "-c", self.config], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    def _certificate(self) -> bool:
        if not shutil.which("openssl"):
            return False
        result = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", f"{self.root}/key.pem",
             "-out", f"{self.root}/cert.pem"], capture_output=True, timeout=60)
        return result.returncode == 0

    def client(self):
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *letters: bytes) -> None:
        with self.client() as client:
            for raw in letters:
                client.append("INBOX", raw)

    def empty(self) -> None:
        with self.client() as client:
            client.select_folder("INBOX")
            found = client.search(["ALL"])
            if found:
                client.delete_messages(found)
                client.expunge()

    def flags(self) -> list[tuple]:
        with self.client() as client:
            client.select_folder("INBOX", readonly=True)
            found = client.search(["ALL"])
            return [v[b"FLAGS"] for v in client.fetch(found, ["FLAGS"]).values()] \
                if found else []

    def stop(self) -> None:
        pid_file = os.path.join(self.root, "run", "master.pid")
        try:
            with open(pid_file) as fh:
                os.kill(int(fh.read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.root, ignore_errors=True)
