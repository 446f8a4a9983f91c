"""Rate limits (issue 9, defect 4; X5): logging in per account and per address,
password reset, registration, public forms and failed API tokens answer 429
with ``Retry-After`` once over their limit — a page in the visitor's language,
or the API's JSON problem. Password reset answers known and unknown addresses
alike: the letter is written by the worker, never inside the request.

The test apps' limits are too high to meet (``kernel.testing``); each test here
sets low ones with ``app_config``.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.exceptions import TooManyRequests

from kernel.db import db
from kernel.models.outbox import OutboxMessage
from kernel.services import tokens
from web import ratelimit

LOW = "3 per minute"


def from_address(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def login(client, email, password, ip="10.0.0.1", **kwargs):
    return client.post("/auth/login", data={"email": email, "password": password},
                       **from_address(ip), **kwargs)


def assert_429_page(response, language="ru"):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    html = response.get_data(as_text=True)
    if language == "ru":
        assert "Слишком много попыток" in html
    else:
        assert "Too many attempts" in html and "Please wait" in html


# -- logging in ---------------------------------------------------------------------


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ACCOUNT=LOW)
def test_login_per_account_holds_from_every_address(client, agent):
    for attempt in range(3):
        assert login(client, agent.email, "wrong", ip=f"10.0.0.{attempt + 1}").status_code == 401
    # The right password does not help now, from a new address neither.
    assert_429_page(login(client, agent.email, "agent-pass-1", ip="10.9.9.9"))
    assert_429_page(login(client, agent.email.upper(), "wrong", ip="10.9.9.8"))
    # Other accounts are not held.
    assert login(client, "nobody@test.example", "wrong").status_code == 401


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ACCOUNT=LOW)
def test_a_successful_login_clears_the_accounts_failures(app, agent):
    browser = app.test_client()
    for _ in range(2):
        assert login(browser, agent.email, "wrong").status_code == 401
    assert login(browser, agent.email, "agent-pass-1").status_code == 303
    other = app.test_client()
    for _ in range(3):
        assert login(other, agent.email, "wrong").status_code == 401
    assert login(other, agent.email, "wrong").status_code == 429


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ADDRESS=LOW)
def test_login_per_address_whatever_the_account(client, agent):
    for n in range(3):
        assert login(client, f"guess{n}@test.example", "wrong", ip="10.0.0.7").status_code == 401
    assert_429_page(login(client, agent.email, "agent-pass-1", ip="10.0.0.7"))
    assert login(client, agent.email, "agent-pass-1", ip="10.0.0.8").status_code == 303


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ADDRESS=LOW)
def test_ipv6_addresses_count_by_their_network(client):
    for n in range(3):
        login(client, "x@test.example", "wrong", ip=f"2001:db8:1:2::{n + 1}")
    assert login(client, "x@test.example", "wrong", ip="2001:db8:1:2::99").status_code == 429
    assert login(client, "x@test.example", "wrong", ip="2001:db8:1:3::1").status_code == 401


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ACCOUNT="10 per minute")
def test_parallel_guesses_are_counted_before_the_password_is_checked(app):
    """20 at once: exactly 10 get through, whatever the interleaving."""
    key = ratelimit.account("target@test.example")
    refused = []
    start = threading.Barrier(20)

    def guess():
        with app.app_context():
            start.wait()
            try:
                ratelimit.hit("login_account", key)
            except TooManyRequests:
                refused.append(1)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 10


@pytest.mark.app_config(HOOKDESK_RATELIMIT_LOGIN_ACCOUNT="1 per minute")
def test_the_429_page_speaks_the_visitors_language(client, agent):
    login(client, agent.email, "wrong")
    assert_429_page(login(client, agent.email, "wrong", headers={"Accept-Language": "en"}), "en")
    assert_429_page(login(client, agent.email, "wrong", headers={"Accept-Language": "ru"}), "ru")


# -- password reset -----------------------------------------------------------------


@pytest.mark.app_config(HOOKDESK_RATELIMIT_RESET_ACCOUNT="2 per minute")
def test_reset_per_account(client, customer_user):
    for n in range(2):
        assert client.post("/auth/forgot", data={"email": customer_user.email},
                           **from_address(f"10.1.0.{n}")).status_code == 303
    assert_429_page(client.post("/auth/forgot", data={"email": customer_user.email},
                                **from_address("10.1.0.9")))
    # An unknown address is held the same way: a 429 tells nothing about accounts.
    for _ in range(2):
        client.post("/auth/forgot", data={"email": "ghost@test.example"})
    assert client.post("/auth/forgot", data={"email": "ghost@test.example"}).status_code == 429


@pytest.mark.app_config(HOOKDESK_RATELIMIT_RESET_ADDRESS=LOW)
def test_reset_per_address(client):
    for n in range(3):
        assert client.post("/auth/forgot", data={"email": f"a{n}@test.example"},
                           **from_address("10.1.1.1")).status_code == 303
    assert client.post("/auth/forgot", data={"email": "b@test.example"},
                       **from_address("10.1.1.1")).status_code == 429


def test_reset_answers_known_and_unknown_addresses_alike(app, client, customer_user):
    """No letter is looked up, rendered or written inside the request: the request
    only queues the job ``auth.password_reset``, with the same arguments for an
    address with an account and one without; the worker writes the letter."""
    tasks = app.extensions["hookdesk_jobs"]["tasks"]
    real = tasks["auth.password_reset"]
    queued: list[dict] = []
    tasks["auth.password_reset"] = lambda **kwargs: queued.append(kwargs)
    try:
        answers = []
        for email in (customer_user.email, "ghost@test.example"):
            response = client.post("/auth/forgot", data={"email": email})
            answers.append((response.status_code, response.headers["Location"]))
            assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0
    finally:
        tasks["auth.password_reset"] = real
    assert answers[0] == answers[1] == (303, "/auth/check-email?reason=reset")
    assert [sorted(job) for job in queued] == [["email", "letter_key"]] * 2
    assert [job["email"] for job in queued] == [customer_user.email, "ghost@test.example"]
    # The worker: a letter for the account, none for the stranger.
    from web.auth.views import send_reset_letter

    for job in queued:
        send_reset_letter(**job)
    rows = db.session.scalars(db.select(OutboxMessage)).all()
    assert [row.recipient for row in rows] == [f"Buyer <{customer_user.email}>"]
    assert "/auth/password/" in rows[0].payload["body"]
    assert rows[0].key == queued[0]["letter_key"]  # a retried job is the same letter


# -- registration, public forms -----------------------------------------------------


@pytest.mark.app_config(HOOKDESK_RATELIMIT_REGISTER_ADDRESS="2 per minute")
def test_registration_per_address(client):
    for n in range(2):
        assert client.post("/auth/register", data={
            "name": f"Person {n}", "email": f"p{n}@test.example", "phone": ""},
            **from_address("10.2.0.1")).status_code == 303
    refused = client.post("/auth/register", data={
        "name": "Person 3", "email": "p3@test.example", "phone": ""}, **from_address("10.2.0.1"))
    assert_429_page(refused)
    from kernel.services import users

    assert users.by_email("p3@test.example") is None


@pytest.mark.app_config(HOOKDESK_RATELIMIT_PUBLIC_FORM="2 per minute")
def test_the_set_password_form_is_a_public_form(client):
    for _ in range(2):
        assert client.post("/auth/password/forged-token", data={}).status_code == 400
    assert client.post("/auth/password/forged-token", data={}).status_code == 429
    assert client.get("/auth/password/forged-token").status_code == 400  # reading is free


# -- the API's tokens ---------------------------------------------------------------


@pytest.mark.app_config(HOOKDESK_RATELIMIT_TOKEN_FAILURES=LOW)
def test_failed_tokens_per_address(client, agent):
    _row, good = tokens.create(agent, "ci")
    for n in range(3):
        bad = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer hd_x{n}_nope"},
                         **from_address("10.3.0.1"))
        assert bad.status_code == 401
    held = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {good}"},
                      **from_address("10.3.0.1"))
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) >= 1
    assert held.json["status"] == 429 and held.json["title"] == "Too many requests"
    assert "Try again in" in held.json["detail"]
    elsewhere = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {good}"},
                           **from_address("10.3.0.2"))
    assert elsewhere.status_code == 200


@pytest.mark.app_config(HOOKDESK_RATELIMIT_TOKEN_FAILURES=LOW)
def test_failed_tokens_per_token_prefix_from_many_addresses(client, agent):
    row, good = tokens.create(agent, "ci")
    prefix = good.split("_")[1]
    for n in range(3):
        assert client.get("/api/v1/tickets",
                          headers={"Authorization": f"Bearer hd_{prefix}_guess{n}"},
                          **from_address(f"10.4.0.{n}")).status_code == 401
    # That token is held everywhere for a while; the agent's other tokens are not.
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {good}"},
                      **from_address("10.4.1.1")).status_code == 429
    _other, second = tokens.create(agent, "another")
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {second}"},
                      **from_address("10.4.1.1")).status_code == 200


@pytest.mark.app_config(HOOKDESK_RATELIMIT_TOKEN_FAILURES=LOW)
def test_good_tokens_are_not_counted(client, agent):
    _row, good = tokens.create(agent, "ci")
    for _ in range(6):
        assert client.get("/api/v1/tickets",
                          headers={"Authorization": f"Bearer {good}"}).status_code == 200


# -- configuration ------------------------------------------------------------------


@pytest.mark.app_config(HOOKDESK_RATELIMIT_ENABLED=False, HOOKDESK_RATELIMIT_LOGIN_ACCOUNT="1/hour")
def test_limits_can_be_turned_off(client, agent):
    for _ in range(4):
        assert login(client, agent.email, "wrong").status_code == 401


def test_storage_is_memory_or_the_queues_redis():
    assert ratelimit.storage_url({}) == "memory://"
    assert ratelimit.storage_url({"HOOKDESK_QUEUE_URL": "sqlite:///q.db"}) == "memory://"
    assert ratelimit.storage_url({"HOOKDESK_QUEUE_URL": "redis://r:6379/1"}) == "redis://r:6379/1"
    assert ratelimit.storage_url({"HOOKDESK_QUEUE_URL": "redis://r:6379/1",
                                  "HOOKDESK_RATELIMIT_STORAGE_URL": "redis://o:6379/2"}
                                 ) == "redis://o:6379/2"


def test_a_bad_limit_is_refused_at_start_naming_the_option(tmp_path):
    from kernel.testing import build_app

    with pytest.raises(ValueError, match="HOOKDESK_RATELIMIT_LOGIN_ACCOUNT"):
        build_app(tmp_path, ("helpdesk",), {"HOOKDESK_RATELIMIT_LOGIN_ACCOUNT": "often"})


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except Exception:
        return None
    return url


def test_counters_in_redis_are_shared_by_every_web_worker():
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    import uuid

    from flask import Flask

    workers = []
    for n in range(2):  # two web workers' apps, one Redis
        worker = Flask(f"worker{n}")
        worker.config.update(HOOKDESK_RATELIMIT_STORAGE_URL=url,
                             HOOKDESK_RATELIMIT_LOGIN_ACCOUNT="2 per minute")
        ratelimit.init_app(worker)
        workers.append(worker)
    key = ratelimit.account(f"{uuid.uuid4().hex}@test.example")
    for worker in workers:
        with worker.app_context():
            ratelimit.hit("login_account", key)
    with workers[0].app_context(), pytest.raises(TooManyRequests) as refused:
        ratelimit.hit("login_account", key)
    assert refused.value.retry_after >= 1
    with workers[1].app_context():
        ratelimit.clear("login_account", key)
        ratelimit.hit("login_account", key)
