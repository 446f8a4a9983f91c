"""The CSV import of houses, apartments and owners (W1, W2): matching by name and
number, owners found by phone or e-mail, all or nothing with every error named
by line and column, BOM and ``;``, both date formats, limits, and the
``hookdesk warranty import`` command."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from kernel.db import db
from kernel.errors import PermissionDenied
from kernel.models import AuditEntry
from kernel.services import customers
from plugins.warranty import importer
from plugins.warranty import property as prop
from plugins.warranty.importer import import_csv
from plugins.warranty.models import Apartment, House, Ownership

HEADER = "house,address,warranty_until,apartment,floor,owner_phone,owner_email\n"


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _house(name: str) -> House | None:
    db.session.expire_all()
    return db.session.scalar(db.select(House).where(House.name == name))


def _errors(result) -> list[str]:
    return [str(e) for e in result.errors]


def _csv(*rows, header=HEADER) -> str:
    """The rows as CSV lines below ``header`` (values with commas quoted)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return header + out.getvalue()


@pytest.fixture
def anna(app):
    return customers.create({"name": "Anna Petrova", "phones": ["+7 912 345-67-89"],
                             "emails": ["anna@example.com"]})


def test_happy_path_creates_houses_apartments_and_owners(estate, anna):
    text = HEADER + (
        '"Sunny Park, building 2",2 Sunny St.,2031-06-30,1,1,+7 (912) 345-67-89,\n'
        '"Sunny Park, building 2",,,2,1,,buyer@test.example\n'
        '"Sunny Park, building 2",,,2,1,89123456789,anna@example.com\n'
        "River House,5 River St.,2029-01-01,,,,\n")
    result = import_csv(text)
    assert result.ok, _errors(result)
    assert result.written and result.rows == 4
    assert result.counts() == {"houses_created": 2, "houses_updated": 0,
                               "apartments_created": 2, "apartments_updated": 0,
                               "owners_linked": 3}
    house = _house("Sunny Park, building 2")
    assert (house.address, house.warranty_until) == ("2 Sunny St.", date(2031, 6, 30))
    flats = {a.number: a for a in house.apartments}
    assert sorted(flats) == ["1", "2"] and flats["1"].floor == 1
    assert [c.name for c in prop.owners(flats["1"])] == ["Anna Petrova"]
    assert sorted(c.name for c in prop.owners(flats["2"])) == ["Anna Petrova", "Buyer"]
    assert _house("River House").apartments == []


def test_existing_houses_and_apartments_are_updated_not_repeated(estate, anna):
    name = estate.active.name
    text = _csv([name, "ул. Солнечная, 1а", "2032-12-31", "12", "4", "", "anna@example.com"],
                [name.upper(), "", "", "13", "", "", ""],
                [name, "", "", "12", "4", "", "buyer@test.example"])
    result = import_csv(text)
    assert result.ok, _errors(result)
    assert result.counts() == {"houses_created": 0, "houses_updated": 1,
                               "apartments_created": 0, "apartments_updated": 1,
                               "owners_linked": 1}
    db.session.expire_all()
    house = db.session.get(House, estate.active.id)
    assert (house.address, house.warranty_until) == ("ул. Солнечная, 1а", date(2032, 12, 31))
    assert db.session.get(Apartment, estate.flat.id).floor == 4
    assert db.session.get(Apartment, estate.other_flat.id).floor == 3  # empty: unchanged
    assert _count(House) == 2 and _count(Apartment) == 3
    again = import_csv(text)
    assert again.ok and again.counts() == dict.fromkeys(again.counts(), 0)


def test_any_error_writes_nothing_and_every_error_is_named(estate, anna):
    name = estate.active.name
    text = _csv(
        ["New House", "1 New St.", "2031-01-01", "1", "2", "", ""],           # fine
        ["New House", "", "", "2", "second", "", ""],                         # 3: floor
        ["", "", "", "3", "", "", ""],                                        # 4: house
        ["Other House", "", "2031-02-30", "1", "", "", ""],                   # 5: date
        ["Third House", "", "", "1", "", "", ""],                             # 6: no date
        [name, "", "", "14", "", "+7 999 000-00-00", ""],                     # 7: phone
        [name, "", "", "15", "", "", "nobody@example.com"],                   # 8: e-mail
        [name, "", "", "16", "", "not a phone", ""],                          # 9: bad phone
        [name, "", "", "", "2", "", ""],                                      # 10: no apt
        [name, "", "", "17", "", "+7 912 345-67-89", "buyer@test.example"],   # 11: mismatch
        [name, "", "", "18", "500", "", ""],                                  # 12: range
        ["New House", "Elsewhere", "", "4", "", "", ""],                      # 13: address
        ["Fourth House", "", "2031-01-01", "1", "", "", "", "extra"])         # 14: extra
    audit_before = _count(AuditEntry)
    result = import_csv(text)
    assert not result.ok and not result.written
    assert result.counts() == dict.fromkeys(result.counts(), 0)
    assert _errors(result) == [
        "line 3, floor: Expected a whole number.",
        "line 4, house: This field is required.",
        "line 5, warranty_until: Expected a date as YYYY-MM-DD or DD.MM.YYYY.",
        "line 6, warranty_until: A new house needs the end date of its warranty.",
        "line 7, owner_phone: No customer has this phone.",
        "line 8, owner_email: No customer has this e-mail.",
        "line 9, owner_phone: 'not a phone' is not a phone number.",
        "line 10, apartment: Give the apartment to set a floor or an owner.",
        "line 11, owner_email: The phone and the e-mail belong to different customers.",
        "line 12, floor: Must be greater than or equal to -10 and less than or equal to 300.",
        "line 13, address: Differs from line 2 for the same house.",
        "line 14: The row has more values than the header has columns.",
    ]
    assert _house("New House") is None and _house("Third House") is None
    assert _count(House) == 2 and _count(Apartment) == 3 and _count(Ownership) == 2
    assert _count(AuditEntry) == audit_before


def test_service_refusals_roll_back_the_rows_before_them(estate):
    text = _csv(["Good House", "", "2031-01-01", "1", "", "", ""],
                ["Long" * 60, "", "2031-01-01", "1", "", "", ""],
                [estate.active.name, "", "", "9" * 25, "", "", ""])
    result = import_csv(text)
    assert _errors(result) == [
        "line 3, house: Length must be between 1 and 200.",
        "line 4, apartment: Length must be between 1 and 20.",
    ]
    assert _house("Good House") is None


def test_bom_semicolons_and_dotted_dates(estate, anna):
    text = ("house;address;warranty_until;apartment;floor;owner_phone\r\n"
            "ЖК Новый, дом 3;ул. Новая, 3;31.12.2030;101;10;8 912 345 67 89\r\n"
            "ЖК Новый, дом 3;;;102;10;\r\n")
    result = import_csv(io.BytesIO(b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert result.ok, _errors(result)
    house = _house("ЖК Новый, дом 3")
    assert (house.address, house.warranty_until) == ("ул. Новая, 3", date(2030, 12, 31))
    assert [a.number for a in house.apartments] == ["101", "102"]
    assert [c.name for c in prop.owners(house.apartments[0])] == ["Anna Petrova"]


def test_a_text_string_and_any_column_order(estate):
    text = "\ufeffApartment,House,Warranty Until,Address\n5,Park House,2030-05-05,\n"
    result = import_csv(text)
    assert result.ok, _errors(result)
    assert [a.number for a in _house("Park House").apartments] == ["5"]


def test_dry_run_checks_everything_and_writes_nothing(estate):
    text = HEADER + "Dry House,,2031-01-01,1,,,\nDry House,,,1,,,\n"
    result = import_csv(text, dry_run=True)
    assert result.ok and not result.written and result.dry_run
    assert result.counts()["houses_created"] == 1 and result.counts()["apartments_created"] == 1
    assert _house("Dry House") is None
    refused = import_csv(HEADER + f"Dry House,,2031-01-01,{'1' * 30},,,\n", dry_run=True)
    assert _errors(refused) == ["line 2, apartment: Length must be between 1 and 20."]


def test_header_problems(estate):
    missing = import_csv("house,apartment\nA,1\n")
    assert _errors(missing) == ["line 1: Columns missing from the header: address, "
                                "warranty_until."]
    unknown = import_csv(HEADER.strip() + ",owner_phon\n")
    assert "Unknown column “owner_phon”" in _errors(unknown)[0]
    twice = import_csv("house,address,warranty_until,apartment,house\n")
    assert _errors(twice) == ["line 1: The column “house” is named twice."]
    assert _errors(import_csv("")) == [
        "The file is empty: the first line must name the columns."]
    assert _errors(import_csv(HEADER)) == ["The file has no rows below the header."]


def test_not_utf8_is_refused(estate):
    text = HEADER + "Дом,,2031-01-01,1,,,\n"
    result = import_csv(text.encode("cp1251"))
    assert _errors(result) == ["The file is not UTF-8 text; save it as “CSV UTF-8”."]


def test_size_and_row_limits(estate, monkeypatch):
    big = import_csv(io.BytesIO(b"x" * (importer.MAX_BYTES + 1)))
    assert _errors(big) == ["The file is larger than 5 MB; split it into smaller files."]
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = "".join(f"Many,,2031-01-01,{n},,,\n" for n in range(4))
    many = import_csv(HEADER + rows)
    assert _errors(many) == ["The file has more than 3 rows; split it into smaller files."]
    assert _house("Many") is None
    assert import_csv(HEADER + rows[: rows.index("Many,,2031-01-01,3")]).ok


def test_an_ambiguous_phone_needs_the_email(estate, anna):
    twin = customers.create({"name": "Boris", "phones": ["+7 912 345-67-89"],
                             "emails": ["boris@example.com"]})
    result = import_csv(_csv([estate.active.name, "", "", "13", "", "+7 912 345-67-89", ""]))
    assert _errors(result) == [
        f"line 2, owner_phone: Several customers have this phone (nos. {anna.id}, {twin.id}); "
        "give the e-mail instead."]
    chosen = import_csv(_csv([estate.active.name, "", "", "13", "", "+7 912 345-67-89",
                              "boris@example.com"]))
    assert chosen.ok and [c.name for c in prop.owners(estate.other_flat)] == ["Boris"]


def test_only_managers_may_import(estate, agent, admin):
    with pytest.raises(PermissionDenied):
        import_csv(HEADER + "X,,2031-01-01,1,,,\n", actor=agent)
    result = import_csv(HEADER + "X,,2031-01-01,1,,,\n", actor=admin)
    assert result.ok
    entry = db.session.scalar(db.select(AuditEntry).where(
        AuditEntry.action == "warranty.house_create").order_by(AuditEntry.id.desc()))
    assert entry.actor_id == admin.id


# -- the command line -----------------------------------------------------------------


def test_cli_import(runner, estate, anna, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "Cli House,1 Cli St.,2031-01-01,1,2,,anna@example.com\n",
                    encoding="utf-8")
    checked = runner.invoke(args=["warranty", "import", str(good), "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert "nothing was written" in checked.output and "Houses created: 1" in checked.output
    assert _house("Cli House") is None
    done = runner.invoke(args=["warranty", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "Imported 1 row(s)." in done.output and "Owners linked: 1" in done.output
    assert [a.number for a in _house("Cli House").apartments] == ["1"]


def test_cli_import_errors_exit_1(runner, estate, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "Bad House,,,1,,,\nBad House,,2031-13-01,2,,,\n", encoding="utf-8")
    result = runner.invoke(args=["warranty", "import", str(bad)])
    assert result.exit_code == 1
    assert "Nothing imported: 1 error(s)" in result.output
    assert "line 3, warranty_until: Expected a date as YYYY-MM-DD or DD.MM.YYYY." in \
        result.output
    assert _house("Bad House") is None
    missing = runner.invoke(args=["warranty", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2
