"""SMS.ru's HTTP API (https://sms.ru/api), as documented there:

* send: ``POST <base>/sms/send`` with ``api_id``, ``to`` (digits, no plus),
  ``msg`` (UTF-8), ``json=1``, optional ``from`` (an approved sender name) and
  ``test=1``. The answer: ``{"status": "OK", "status_code": 100, "sms":
  {"79251234567": {"status": "OK", "status_code": 100, "sms_id":
  "000000-10000000"}}, "balance": 10}``; a refused request has ``"status":
  "ERROR"`` and its ``status_code``/``status_text`` at the top, a refused number
  the same inside its ``sms`` entry.
* status: ``GET <base>/sms/status?api_id=...&sms_id=id1,id2&json=1`` answers
  ``{"status": "OK", "sms": {"id1": {"status": "OK", "status_code": 103,
  "status_text": "..."}}}``.
* callback: SMS.ru POSTs form fields ``data[0]``, ``data[1]``... each
  ``"sms_status\\n<sms_id>\\n<status_code>\\n<unix time>"`` to the URL set in its
  cabinet and expects the body ``100``.

Status codes: 100 queued, 101 passed to the operator, 102 sent (in transit),
103 delivered; 104 (expired), 105 (deleted by the operator), 106 (phone
failure), 107 (unknown reason), 108 (rejected), 150 (no route) are final
failures. Refusals 201 (not enough money), 206 (daily limit), 220 (service
temporarily unavailable) and 500 (server error) are worth trying again;
every other refusal (bad number 202, stop list 209, bad api_id 200/301...) is not.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests

from kernel.outbox import PermanentFailure, TemporaryFailure
from plugins.sms.gateways import Report

TIMEOUT = 15
RETRY_CODES = {201, 206, 220, 500}
DELIVERED = {103}
UNDELIVERED = {104, 105, 106, 107, 108, 150}


def state_of(code: int) -> str:
    if code in DELIVERED:
        return "delivered"
    if code in UNDELIVERED:
        return "undelivered"
    return "sent"


def parse_callback(values: Iterable[str]) -> list[Report]:
    """The reports in a callback's ``data[N]`` fields; other kinds of data are skipped."""
    found = []
    for value in values:
        lines = [line.strip() for line in str(value).splitlines()]
        if len(lines) >= 3 and lines[0] == "sms_status" and lines[2].lstrip("-").isdigit():
            code = int(lines[2])
            found.append(Report(lines[1], state_of(code), f"SMS.ru {code}"))
    return found


class SmsRu:
    key = "smsru"

    def __init__(self, api_id: str, base_url: str = "https://sms.ru", sender: str = "",
                 test: bool = False):
        self.api_id, self.base = api_id, base_url.rstrip("/")
        self.sender, self.test = sender, test

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = requests.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise TemporaryFailure(f"SMS.ru is unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise TemporaryFailure(f"SMS.ru answered HTTP {response.status_code}.")
        try:
            answer = response.json()
        except ValueError as exc:
            raise TemporaryFailure(
                f"SMS.ru answered HTTP {response.status_code} without JSON.") from exc
        if not isinstance(answer, dict):
            raise TemporaryFailure("SMS.ru answered something that is not a JSON object.")
        return answer

    @staticmethod
    def _refusal(entry: dict) -> Exception:
        code = int(entry.get("status_code") or 0)
        text = f"SMS.ru refused ({code}): {entry.get('status_text') or 'no reason given'}"
        return TemporaryFailure(text) if code in RETRY_CODES else PermanentFailure(text)

    def send(self, phone: str, text: str, key: str) -> list[str]:
        to = phone.lstrip("+")
        form = {"api_id": self.api_id, "to": to, "msg": text, "json": "1"}
        if self.sender:
            form["from"] = self.sender
        if self.test:
            form["test"] = "1"
        answer = self._call("POST", "/sms/send", data=form)
        if answer.get("status") != "OK":
            raise self._refusal(answer)
        entry = (answer.get("sms") or {}).get(to)
        if not isinstance(entry, dict):
            raise TemporaryFailure("SMS.ru's answer does not mention the number.")
        if entry.get("status") != "OK" or not entry.get("sms_id"):
            raise self._refusal(entry)
        return [str(entry["sms_id"])]

    def status(self, provider_ids: list[str]) -> list[Report]:
        """Ask for the state of sent messages (the poll behind the callback)."""
        if not provider_ids:
            return []
        answer = self._call("GET", "/sms/status", params={
            "api_id": self.api_id, "sms_id": ",".join(provider_ids), "json": "1"})
        if answer.get("status") != "OK":
            raise self._refusal(answer)
        found = []
        for provider_id, entry in (answer.get("sms") or {}).items():
            if isinstance(entry, dict) and entry.get("status") == "OK":
                code = int(entry.get("status_code") or 0)
                found.append(Report(str(provider_id), state_of(code),
                                    str(entry.get("status_text") or f"SMS.ru {code}")[:200]))
        return found
