"""``python -m benchmarks.load``: the API mix against a real server, then the books.

Starts what ``make run`` starts (``hookdesk serve`` + ``hookdesk worker``) on a fresh
database — SQLite and the SQLite queue (``--setup embedded``) or PostgreSQL and the
Redis queue (``--setup scale``) — runs ``locustfile.py`` headless against it on
loopback for a bounded time, and then checks in the database that

* every create the server acknowledged (201) exists exactly once,
* nothing it refused was written,
* ticket numbers are gap-free,
* the outbox drained: how many letters were still pending 3 s after the run and
  how long the worker took to send them all.

It prints one line per request kind (count, req/s, median and p95) and a verdict,
and writes the figures to ``benchmarks/results/load-<setup>-<users>.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "hookdesk_load"
REDIS_URL = "redis://127.0.0.1:6379/15"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(setup: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKDESK_")}
    env.update({
        "HOOKDESK_INSTANCE_PATH": str(instance),
        "HOOKDESK_SECRET_KEY": "load-test",
        "HOOKDESK_MAIL_URL": f"file://{instance / 'mail'}",
        "HOOKDESK_PASSWORD_HASH": "pbkdf2:sha256:1000",
    })
    if setup == "scale":
        env["HOOKDESK_DATABASE_URL"] = os.environ.get(
            "HOOKDESK_LOAD_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}")
        env["HOOKDESK_QUEUE_URL"] = os.environ.get("HOOKDESK_LOAD_QUEUE_URL", REDIS_URL)
    return env


def _fresh_postgres(env: dict[str, str]) -> None:
    """Drop and create the run's database: the one HOOKDESK_LOAD_DATABASE_URL names
    (engineers sharing a server each give their own), else ``hookdesk_load``."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(env["HOOKDESK_DATABASE_URL"]).database or PG_DB
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing to recreate the database {name!r}")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def _fresh_redis(env: dict[str, str]) -> None:
    """Empty the run's Redis database (HOOKDESK_LOAD_QUEUE_URL, else db 15)."""
    import redis

    redis.Redis.from_url(env["HOOKDESK_QUEUE_URL"]).flushdb()


def _app(env: dict[str, str]):
    os.environ.update({k: v for k, v in env.items() if k.startswith("HOOKDESK_")})
    from web import create_app

    return create_app()


def _people(app, customers: int, path: Path) -> None:
    """5 agents and ``customers`` customer accounts, each with an API token."""
    from kernel.db import db
    from kernel.services import tokens, users

    made: dict[str, list[str]] = {"agents": [], "customers": []}
    with app.app_context():
        for n in range(5):
            user = users.create({"email": f"agent{n}@load.test", "kind": "agent",
                                 "roles": ["agent"], "name": f"Agent {n}"})
            made["agents"].append(tokens.create(user, "load")[1])
        for n in range(customers):
            user = users.create({"email": f"customer{n}@load.test", "kind": "customer",
                                 "name": f"Customer {n}"})
            made["customers"].append(tokens.create(user, "load")[1])
        db.session.remove()
    path.write_text(json.dumps(made), encoding="utf-8")


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer {url} within {seconds:.0f} s")


def _pending_letters(app, due_only: bool = False) -> int:
    """Letters not sent yet; ``due_only``: only those due now (not those a
    coalescing window or the hourly limit holds back on purpose)."""
    from kernel.db import db, utcnow
    from kernel.models.outbox import OutboxMessage

    with app.app_context():
        query = (db.select(db.func.count()).select_from(OutboxMessage)
                 .where(OutboxMessage.status.in_(("pending", "sending", "held"))))
        if due_only:
            query = query.where(OutboxMessage.next_attempt_at <= utcnow())
        count = db.session.scalar(query)
        db.session.remove()
    return int(count or 0)


def _books(app, ledger: dict) -> dict:
    """What the database says about what the clients were told."""
    from kernel.db import db
    from kernel.models import Ticket

    with app.app_context():
        rows = db.session.execute(db.select(Ticket.subject, Ticket.number)).all()
        db.session.remove()
    by_tag = Counter(subject[5:] for subject, _n in rows if subject.startswith("load "))
    acknowledged = ledger["acknowledged"]
    missing = [t for t in acknowledged if by_tag.get(t, 0) == 0]
    doubled = [t for t, n in by_tag.items() if n > 1]
    refused_written = [t for t in ledger["refused"] if by_tag.get(t, 0)]
    seqs: dict[str, list[int]] = defaultdict(list)
    for _subject, number in rows:
        match = re.fullmatch(r"(.*?)(\d+)", number)
        if match:
            seqs[match.group(1)].append(int(match.group(2)))
    gaps = {prefix: len(values) for prefix, values in seqs.items()
            if sorted(values) != list(range(1, len(values) + 1))}
    return {"tickets": len(rows), "acknowledged": len(acknowledged),
            "refused": len(ledger["refused"]), "unknown": len(ledger["unknown"]),
            "missing": len(missing), "duplicated": len(doubled),
            "refused_but_written": len(refused_written), "numbering_gaps": gaps}


def _stats(prefix: Path, seconds: float) -> list[dict]:
    rows = []
    with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows.append({
                "name": row["Name"], "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(int(row["Request Count"]) / seconds, 1),
                "median_ms": float(row["50%"] or 0), "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
            })
    return rows


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def run(setup: str, users: int, seconds: int, workers: int | None, keep: bool,
        start_timeout: int = 180) -> dict:
    instance = Path(tempfile.mkdtemp(prefix=f"hookdesk-load-{setup}-"))
    env = _environment(setup, instance)
    if setup == "scale":
        _fresh_postgres(env)
        _fresh_redis(env)
    subprocess.run([str(BIN / "hookdesk"), "db", "upgrade"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    app = _app(env)
    tokens_file, ledger_file = instance / "tokens.json", instance / "ledger.json"
    _people(app, users, tokens_file)
    port = _free_port()
    logs = open(instance / "server.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    serve = [str(BIN / "hookdesk"), "serve", "--port", str(port)]
    if workers:
        serve += ["--workers", str(workers)]
    server = subprocess.Popen(serve, env=env, stdout=logs, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([str(BIN / "hookdesk"), "worker"], env=env, stdout=logs,
                              stderr=subprocess.STDOUT)
    result: dict = {"setup": setup, "users": users, "seconds": seconds}
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", start_timeout)
        prefix = instance / "locust"
        locust_env = {**env, "HOOKDESK_LOAD_TOKENS": str(tokens_file),
                      "HOOKDESK_LOAD_LEDGER": str(ledger_file)}
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
             "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{seconds}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
             "--stop-timeout", "10", "--exit-code-on-error", "0"],
            env=locust_env, check=True, timeout=seconds + 120,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        time.sleep(3)
        result["letters_due_unsent_after_3s"] = _pending_letters(app, due_only=True)
        result["letters_pending_after_3s"] = _pending_letters(app)
        drain_started = time.monotonic()
        while _pending_letters(app) and time.monotonic() - drain_started < 300:
            time.sleep(0.5)
        result["letters_pending_at_end"] = _pending_letters(app)
        result["letters_drained_in_s"] = round(3 + time.monotonic() - drain_started, 1)
        result["requests"] = _stats(prefix, min(elapsed, seconds))
        ledger = json.loads(ledger_file.read_text(encoding="utf-8"))
        result["status_codes"] = ledger["status"]
        result["server_errors"] = sum(n for code, n in ledger["status"].items()
                                      if code.startswith("5"))
        result["books"] = _books(app, ledger)
    finally:
        _stop(server)
        _stop(worker)
        logs.close()
        if not keep:
            shutil.rmtree(instance, ignore_errors=True)
        else:
            result["instance"] = str(instance)
    return result


def _report(result: dict) -> bool:
    print(f"\n== {result['setup']}: {result['users']} users, {result['seconds']} s")
    print(f"{'request':<20}{'count':>8}{'req/s':>8}{'median':>9}{'p95':>8}{'p99':>8}{'fail':>6}")
    for row in result["requests"]:
        print(f"{row['name']:<20}{row['requests']:>8}{row['rps']:>8}{row['median_ms']:>8.0f}m"
              f"{row['p95_ms']:>7.0f}m{row['p99_ms']:>7.0f}m{row['failures']:>6}")
    books = result["books"]
    print(f"status codes: {result['status_codes']}")
    print(f"letters due but unsent 3 s after the run: {result['letters_due_unsent_after_3s']}; "
          f"pending (coalescing windows included): {result['letters_pending_after_3s']}, "
          f"all sent after {result['letters_drained_in_s']} s "
          f"(still pending: {result['letters_pending_at_end']})")
    print(f"books: {books}")
    ok = (result["server_errors"] == 0 and books["missing"] == 0 and books["duplicated"] == 0
          and books["refused_but_written"] == 0 and not books["numbering_gaps"]
          and result["letters_pending_at_end"] == 0)
    print("verdict:", "OK" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", choices=("embedded", "scale"), default="embedded")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--time", type=int, default=60, help="seconds of load (at most 600)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    parser.add_argument("--start-timeout", type=int, default=180,
                        help="seconds the server may take to answer (a busy machine is slow "
                             "to import the app in every worker)")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 1000 or not 5 <= args.time <= 600:
        parser.error("--users 1..1000 and --time 5..600")
    result = run(args.setup, args.users, args.time, args.workers, args.keep,
                 args.start_timeout)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    suffix = f"-w{args.workers}" if args.workers else ""
    (out / f"load-{args.setup}-{args.users}{suffix}.json").write_text(
        json.dumps(result, indent=2))
    return 0 if _report(result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
