"""Loading houses, apartments and their owners from a CSV file (W1, W2).

One header row names the columns; the order is free::

    house,address,warranty_until,apartment,floor,owner_phone,owner_email
    ЖК Солнечный, дом 1,ул. Солнечная, 1,2027-12-31,12,3,+7 912 345-67-89,

``house``, ``address``, ``warranty_until`` and ``apartment`` must be there;
``floor``, ``owner_phone`` and ``owner_email`` may be left out. The file is UTF-8
(with or without the BOM Excel writes) and its delimiter, ``,`` or ``;``, is read
from the header. Dates are ``YYYY-MM-DD`` or ``DD.MM.YYYY``.

Houses are matched by name (case does not matter) and get the address and the
warranty end date of the file where it gives them; apartments are matched by
house and number; an owner is an existing customer found by their exact phone
or e-mail (of the customer or of their portal account) — the import never
creates customers.

All or nothing: every change goes through ``plugins.warranty.property`` inside
one unit of work, and a single bad row rolls the whole file back. Every problem
is reported at once, as "line N, column: message", so a file is fixed in one go.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from kernel import permissions
from kernel.db import db
from kernel.errors import ValidationFailed
from kernel.i18n import N_
from kernel.models import User
from kernel.services import customers
from kernel.services.uow import unit_of_work
from plugins.warranty import property as prop
from plugins.warranty.models import Apartment, House, Ownership

MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024
REQUIRED_COLUMNS = ("house", "address", "warranty_until", "apartment")
OPTIONAL_COLUMNS = ("floor", "owner_phone", "owner_email")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")

# Where the property service's field keys are in the file.
SERVICE_KEYS = {"name": "house", "house_id": "house", "address": "address",
                "warranty_until": "warranty_until", "number": "apartment", "floor": "floor",
                "customer_id": "owner_phone"}

MSG_TOO_LARGE = N_("The file is larger than %(mb)s MB; split it into smaller files.")
MSG_TOO_MANY_ROWS = N_("The file has more than %(rows)s rows; split it into smaller files.")
MSG_NOT_UTF8 = N_("The file is not UTF-8 text; save it as “CSV UTF-8”.")
MSG_NO_HEADER = N_("The file is empty: the first line must name the columns.")
MSG_NO_ROWS = N_("The file has no rows below the header.")
MSG_MISSING_COLUMNS = N_("Columns missing from the header: %(columns)s.")
MSG_UNKNOWN_COLUMN = N_("Unknown column “%(column)s”; the columns are: %(columns)s.")
MSG_REPEATED_COLUMN = N_("The column “%(column)s” is named twice.")
MSG_BAD_CSV = N_("The file cannot be read as CSV: %(reason)s.")
MSG_REQUIRED = N_("This field is required.")
MSG_EXTRA_VALUES = N_("The row has more values than the header has columns.")
MSG_BAD_DATE = N_("Expected a date as YYYY-MM-DD or DD.MM.YYYY.")
MSG_BAD_FLOOR = N_("Expected a whole number.")
MSG_HOUSE_DIFFERS = N_("Differs from line %(line)s for the same house.")
MSG_FLOOR_DIFFERS = N_("Differs from line %(line)s for the same apartment.")
MSG_NEW_HOUSE_DATE = N_("A new house needs the end date of its warranty.")
MSG_NO_APARTMENT = N_("Give the apartment to set a floor or an owner.")
MSG_NO_PHONE_OWNER = N_("No customer has this phone.")
MSG_NO_EMAIL_OWNER = N_("No customer has this e-mail.")
MSG_MANY_PHONE_OWNERS = N_("Several customers have this phone (nos. %(ids)s); give the "
                           "e-mail instead.")
MSG_MANY_EMAIL_OWNERS = N_("Several customers have this e-mail (nos. %(ids)s).")
MSG_OWNER_MISMATCH = N_("The phone and the e-mail belong to different customers.")


@dataclass(frozen=True)
class RowError:
    """One problem: its line in the file (None for the file as a whole), its
    column (empty for the whole row or file) and an English message with
    ``%(name)s`` parameters, so the web page can show it translated."""

    line: int | None
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, translate: Callable[[str], str] | None = None,
             where: Callable[[int | None, str], str] | None = None) -> str:
        """"line N, column: message"; ``translate`` turns a msgid into the reader's
        language, ``where`` words the place."""
        message = translate(self.message) if translate else self.message
        if self.params:
            message = message % self.params
        place = where(self.line, self.column) if where else _where(self.line, self.column)
        return f"{place}: {message}" if place else message

    def __str__(self) -> str:
        return self.text()


def _where(line: int | None, column: str) -> str:
    parts = [f"line {line}"] if line is not None else []
    if column:
        parts.append(column)
    return ", ".join(parts)


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do). With errors nothing
    is written and the counts are zero."""

    dry_run: bool = False
    rows: int = 0
    houses_created: int = 0
    houses_updated: int = 0
    apartments_created: int = 0
    apartments_updated: int = 0
    owners_linked: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def counts(self) -> dict[str, int]:
        return {"houses_created": self.houses_created, "houses_updated": self.houses_updated,
                "apartments_created": self.apartments_created,
                "apartments_updated": self.apartments_updated,
                "owners_linked": self.owners_linked}

    def error(self, line: int | None, column: str, message: str, /, **params: Any) -> None:
        self.errors.append(RowError(line, column, message, params))

    def _clear_counts(self) -> None:
        for key in self.counts():
            setattr(self, key, 0)


@dataclass
class _Row:
    line: int
    house: str
    address: str
    warranty_until: date | None
    apartment: str
    floor: int | None
    customer_id: int | None
    bad_house: bool = False  # a value of the house could not be read: skip the house
    skip: bool = False  # the row has errors: do not write its apartment


class _Rollback(Exception):
    """Undo the import's unit of work (errors found, or a dry run)."""


# -- finding owners -----------------------------------------------------------------------


# -- reading the file ---------------------------------------------------------------------


def _read_text(source: Any, result: ImportResult) -> str | None:
    if isinstance(source, str):
        if len(source.encode("utf-8")) > MAX_BYTES:
            result.error(None, "", MSG_TOO_LARGE, mb=MAX_BYTES // (1024 * 1024))
            return None
        return source.removeprefix("\ufeff")
    if isinstance(source, bytes | bytearray):
        raw = bytes(source)
    else:
        stream = getattr(source, "stream", source)
        raw = stream.read(MAX_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        result.error(None, "", MSG_TOO_LARGE, mb=MAX_BYTES // (1024 * 1024))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.error(None, "", MSG_NOT_UTF8)
        return None


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def _delimiter(text: str) -> str:
    """``;`` or ``,``: whichever separates the header's names (Excel in Russian
    writes ``;``, most other tools ``,``)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def parse_date(raw: str) -> date | None:
    """``YYYY-MM-DD`` or ``DD.MM.YYYY``; None when it is neither."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _records(text: str, result: ImportResult) -> tuple[list[str], int,
                                                       list[tuple[int, list[str]]]]:
    """The header's column names, its line, and the non-blank rows with their
    first line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header, header_line = [_column_name(v) for v in values], start
                continue
            if len(rows) >= MAX_ROWS:
                result.error(None, "", MSG_TOO_MANY_ROWS, rows=f"{MAX_ROWS:,}")
                return header, header_line, []
            rows.append((start, values))
    except csv.Error as exc:
        result.error(reader.line_num, "", MSG_BAD_CSV, reason=str(exc))
        return header or [], header_line, []
    if header is None:
        result.error(None, "", MSG_NO_HEADER)
    return header or [], header_line, rows


def _check_header(header: list[str], line: int, result: ImportResult) -> bool:
    ok = True
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name not in COLUMNS:
            result.error(line, "", MSG_UNKNOWN_COLUMN, column=name, columns=", ".join(COLUMNS))
            ok = False
        elif name in seen:
            result.error(line, "", MSG_REPEATED_COLUMN, column=name)
            ok = False
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        result.error(line, "", MSG_MISSING_COLUMNS, columns=", ".join(missing))
        ok = False
    return ok


class _Owners:
    """Owner look-ups, each phone and e-mail asked once per file."""

    def __init__(self) -> None:
        self.phones: dict[str, list[int] | ValidationFailed] = {}
        self.emails: dict[str, list[int]] = {}

    def by_phone(self, raw: str) -> list[int] | ValidationFailed:
        if raw not in self.phones:
            try:
                # Asked as the system: whoever may manage houses links their buyers,
                # by exact matches only.
                self.phones[raw] = [c.id for c in customers.find_by_phone(raw, None)]
            except ValidationFailed as exc:
                self.phones[raw] = exc
        return self.phones[raw]

    def by_email(self, raw: str) -> list[int]:
        key = raw.lower()
        if key not in self.emails:
            self.emails[key] = [c.id for c in customers.find_by_email(key, None)]
        return self.emails[key]

    def resolve(self, line: int, phone: str, email: str, result: ImportResult) -> int | None:
        """The customer the row names, or None (with the errors noted)."""
        found: int | None = None
        if phone:
            ids = self.by_phone(phone)
            if isinstance(ids, ValidationFailed):
                for messages in ids.errors.values():
                    for message in messages:
                        result.error(line, "owner_phone", message)
                return None
            if not ids:
                result.error(line, "owner_phone", MSG_NO_PHONE_OWNER)
                return None
            if len(ids) > 1 and not email:
                result.error(line, "owner_phone", MSG_MANY_PHONE_OWNERS,
                             ids=", ".join(map(str, ids)))
                return None
            found_by_phone = ids
        else:
            found_by_phone = None
        if email:
            ids_e = self.by_email(email)
            if not ids_e:
                result.error(line, "owner_email", MSG_NO_EMAIL_OWNER)
                return None
            if found_by_phone is not None:
                both = [i for i in ids_e if i in found_by_phone]
                if len(both) != 1:
                    result.error(line, "owner_email", MSG_OWNER_MISMATCH)
                    return None
                return both[0]
            if len(ids_e) > 1:
                result.error(line, "owner_email", MSG_MANY_EMAIL_OWNERS,
                             ids=", ".join(map(str, ids_e)))
                return None
            found = ids_e[0]
        elif found_by_phone is not None:
            found = found_by_phone[0]
        return found


def _parse_rows(header: list[str], records: list[tuple[int, list[str]]],
                result: ImportResult) -> list[_Row]:
    owners = _Owners()
    rows: list[_Row] = []
    for line, values in records:
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            result.error(line, "", MSG_EXTRA_VALUES)
            continue
        cells = {name: (values[i].strip() if i < len(values) else "")
                 for i, name in enumerate(header) if name}
        house = cells.get("house", "")
        if not house:
            result.error(line, "house", MSG_REQUIRED)
            continue
        before = len(result.errors)
        until: date | None = None
        if cells.get("warranty_until"):
            until = parse_date(cells["warranty_until"])
            if until is None:
                result.error(line, "warranty_until", MSG_BAD_DATE)
        bad_house = len(result.errors) > before
        apartment = cells.get("apartment", "")
        floor: int | None = None
        if cells.get("floor"):
            if re.fullmatch(r"[+-]?\d{1,6}", cells["floor"]):
                floor = int(cells["floor"])
            else:
                result.error(line, "floor", MSG_BAD_FLOOR)
        phone, email = cells.get("owner_phone", ""), cells.get("owner_email", "")
        customer_id = None
        if not apartment and (cells.get("floor") or phone or email):
            result.error(line, "apartment", MSG_NO_APARTMENT)
        elif phone or email:
            customer_id = owners.resolve(line, phone, email, result)
        rows.append(_Row(line, house, cells.get("address", ""), until, apartment, floor,
                         customer_id, bad_house=bad_house,
                         skip=len(result.errors) > before))
    return rows


# -- writing --------------------------------------------------------------------------


def _service_errors(exc: ValidationFailed, line: int, result: ImportResult,
                    default_column: str) -> None:
    for key, messages in exc.errors.items():
        column = SERVICE_KEYS.get(key.split(".", 1)[0], default_column)
        for message in messages:
            result.error(line, column, message)


@dataclass
class _HousePlan:
    """What the file says about one house: its first line, the values it gives
    (with the line that gave each) and its rows."""

    name: str
    line: int
    address: tuple[str, int] | None = None
    warranty_until: tuple[date, int] | None = None
    rows: list[_Row] = field(default_factory=list)
    broken: bool = False


def _plan_houses(rows: list[_Row], result: ImportResult) -> list[_HousePlan]:
    plans: dict[str, _HousePlan] = {}
    for row in rows:
        plan = plans.setdefault(row.house.casefold(), _HousePlan(row.house, row.line))
        plan.rows.append(row)
        if row.bad_house:
            plan.broken = True
        if row.address:
            if plan.address is None:
                plan.address = (row.address, row.line)
            elif plan.address[0] != row.address:
                result.error(row.line, "address", MSG_HOUSE_DIFFERS, line=plan.address[1])
                plan.broken = True
        if row.warranty_until is not None:
            if plan.warranty_until is None:
                plan.warranty_until = (row.warranty_until, row.line)
            elif plan.warranty_until[0] != row.warranty_until:
                result.error(row.line, "warranty_until", MSG_HOUSE_DIFFERS,
                             line=plan.warranty_until[1])
                plan.broken = True
    return list(plans.values())


def _write_house(plan: _HousePlan, existing: dict[str, House], actor: User | None,
                 result: ImportResult) -> House | None:
    house = existing.get(plan.name.casefold())
    data: dict[str, Any] = {}
    if plan.address is not None and (house is None or house.address != plan.address[0]):
        data["address"] = plan.address[0]
    if plan.warranty_until is not None and (
            house is None or house.warranty_until != plan.warranty_until[0]):
        data["warranty_until"] = plan.warranty_until[0].isoformat()
    if house is None:
        if plan.warranty_until is None:
            result.error(plan.line, "warranty_until", MSG_NEW_HOUSE_DATE)
            return None
        line = plan.warranty_until[1]
        try:
            house = prop.create_house({"name": plan.name, **data}, actor=actor)
        except ValidationFailed as exc:
            _service_errors(exc, line, result, "house")
            return None
        existing[plan.name.casefold()] = house
        result.houses_created += 1
    elif data:
        line = min(v[1] for v in (plan.address, plan.warranty_until) if v is not None)
        try:
            prop.update_house(house, data, actor=actor)
        except ValidationFailed as exc:
            _service_errors(exc, line, result, "house")
            return None
        result.houses_updated += 1
    return house


def _write_apartments(house: House, plan: _HousePlan, owned: set[tuple[int, int]],
                      actor: User | None, result: ImportResult) -> None:
    """The house's apartments and owners. New apartments and new owners go to the
    service in one batch each (a file of 20,000 rows would otherwise pay a
    savepoint, an audit row and a uniqueness query per row)."""
    flats = {a.number: a for a in db.session.scalars(
        select(Apartment).where(Apartment.house_id == house.id))}
    floors: dict[str, tuple[int, int]] = {}
    touched: set[str] = set()
    new_items: list[dict[str, Any]] = []
    new_lines: list[int] = []
    new_index: dict[str, int] = {}
    linked: list[_Row] = []
    for row in plan.rows:
        if not row.apartment or row.skip:
            continue
        if row.floor is not None:
            seen = floors.setdefault(row.apartment, (row.floor, row.line))
            if seen[0] != row.floor:
                result.error(row.line, "floor", MSG_FLOOR_DIFFERS, line=seen[1])
                continue
        flat = flats.get(row.apartment)
        if flat is None:
            if row.apartment not in new_index:
                new_index[row.apartment] = len(new_items)
                new_items.append({"number": row.apartment, "floor": row.floor})
                new_lines.append(row.line)
            elif row.floor is not None:
                new_items[new_index[row.apartment]]["floor"] = row.floor
        elif row.floor is not None and flat.floor != row.floor:
            try:
                prop.update_apartment(flat, {"floor": row.floor}, actor=actor)
            except ValidationFailed as exc:
                _service_errors(exc, row.line, result, "apartment")
                continue
            if row.apartment not in touched:
                touched.add(row.apartment)
                result.apartments_updated += 1
        linked.append(row)
    if new_items:
        try:
            created = prop.create_apartments(house, new_items, actor=actor)
        except ValidationFailed as exc:
            for key, messages in exc.errors.items():
                index, _dot, rest = key.partition(".")
                line = new_lines[int(index)] if index.isdigit() else plan.line
                _service_errors(ValidationFailed({rest or key: messages}), line, result,
                                "apartment")
            return
        flats.update({a.number: a for a in created})
        result.apartments_created += len(created)
    pairs = []
    for row in linked:
        flat = flats.get(row.apartment)
        if row.customer_id is None or flat is None or (flat.id, row.customer_id) in owned:
            continue
        owned.add((flat.id, row.customer_id))
        pairs.append((flat, row.customer_id))
    if pairs:
        try:
            result.owners_linked += prop.add_owners(pairs, actor=actor)
        except ValidationFailed as exc:
            _service_errors(exc, plan.line, result, "owner_phone")


def import_csv(stream_or_text: Any, actor: User | None = None,
               dry_run: bool = False) -> ImportResult:
    """Import houses, apartments and owners from CSV (a text, bytes, or a binary or
    text stream such as an uploaded file). All or nothing: with any error nothing
    is written; ``dry_run`` checks everything, the service's rules included, and
    writes nothing. ``PermissionDenied`` when ``actor`` may not manage houses."""
    permissions.require(actor, prop.MANAGE)
    result = ImportResult(dry_run=dry_run)
    text = _read_text(stream_or_text, result)
    if text is None:
        return result
    header, header_line, records = _records(text, result)
    if result.errors or not _check_header(header, header_line, result):
        return result
    if not records:
        result.error(None, "", MSG_NO_ROWS)
        return result
    result.rows = len(records)
    rows = _parse_rows(header, records, result)
    plans = _plan_houses(rows, result)
    try:
        with unit_of_work():
            existing = {h.name.casefold(): h for h in prop.houses()}
            owned = {(a, c) for a, c in db.session.execute(
                select(Ownership.apartment_id, Ownership.customer_id))}
            for plan in plans:
                if plan.broken:
                    continue
                house = _write_house(plan, existing, actor, result)
                if house is not None:
                    _write_apartments(house, plan, owned, actor, result)
            if result.errors or dry_run:
                raise _Rollback
    except _Rollback:
        pass
    if result.errors:
        result.errors.sort(key=lambda e: (e.line or 0, COLUMNS.index(e.column)
                                          if e.column in COLUMNS else -1))
        result._clear_counts()
    return result
