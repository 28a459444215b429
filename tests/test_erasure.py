"""Erasure that erases: after anonymise() no byte of the database file, its WAL or any export holds the
person's name, phone or ID number, wherever they had been typed, even when another process held a snapshot."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from factories import make_id_number

import volreg
from volreg.cli import cli

NAME = "欧阳明月"
PHONE = "13912345678"


def _alias(person_id: str) -> str:
    return "匿名-" + hashlib.sha256(person_id.encode()).hexdigest()[:8]


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A file registry where the person is named, phoned and numbered all over other people's rows."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    registry = volreg.open(path)
    number = make_id_number(birth="19800101")
    org = registry.add_organisation("新华社区", kind="community")
    subject = registry.register_volunteer(NAME, id_number=number, phone=PHONE, organisation=org,
                                          registered_on="2023-01-01", by=NAME)
    other = registry.register_volunteer("李四光", id_number=make_id_number(), organisation=org,
                                        registered_on="2023-01-01", by=f"{NAME}（{PHONE}）")
    studio = registry.add_studio(f"{NAME}爱心公益工作室", founder=subject.person, organisation=org, by=NAME)
    activity = registry.add_activity(f"{NAME}带队义诊", category="敬老助老", organiser=org, studio=studio,
                                     start="2024-03-05 08:00", end="2024-03-05 18:00", leader=NAME,
                                     content=f"联系人{NAME}，电话{PHONE}", by=NAME)
    mine = registry.log_service(subject, activity, start="2024-03-05 09:00", end="2024-03-05 11:00", by=NAME)
    theirs = registry.log_service(other, activity, start="2024-03-05 09:00", end="2024-03-05 12:00", by=NAME,
                                  note=f"与{NAME}同组，身份证{number}，手机{PHONE}")
    registry.verify_service(mine, by=NAME)
    registry.verify_service(theirs, by=f"审核员（代{NAME}）")
    return {"registry": registry, "path": path, "subject": subject, "number": number,
            "tmp": tmp_path, "other": other}


def _secrets(city: dict[str, Any]) -> list[bytes]:
    number = city["number"]
    texts = [NAME, PHONE, "139****5678", number, number.lower(), number[:6] + "********" + number[-4:]]
    return [t.encode() for t in texts]


def _on_disk(path: Path) -> bytes:
    """The database file and its WAL, as bytes (what someone who copies the disk reads)."""
    return b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal", "-journal") if Path(str(path) + s).exists())


def _exports(city: dict[str, Any]) -> bytes:
    """Every way data leaves the registry: both archives, query exports, the history command."""
    registry, tmp = city["registry"], city["tmp"]
    volreg.export_registry(registry, tmp / "full.jsonl")
    volreg.export_registry(registry, tmp / "shared.jsonl", personal=False)
    volreg.hours(registry, by="volunteer").to_csv(tmp / "hours.csv")
    out = (tmp / "full.jsonl").read_bytes() + (tmp / "shared.jsonl").read_bytes() + (tmp / "hours.csv").read_bytes()
    out += volreg.hours(registry, by=("studio", "activity")).to_json().encode()
    out += volreg.activity_counts(registry, by="studio").to_json().encode()
    for entity in (city["subject"].person, city["subject"].id, city["other"].id):
        result = CliRunner().invoke(cli, ["history", str(city["path"]), entity, "--json"], catch_exceptions=False)
        out += result.output.encode()
    return out


def _left(data: bytes, secrets: list[bytes]) -> list[str]:
    return [s.decode()[:3] + "…" for s in secrets if s in data]


def test_anonymise_erases_every_column_the_file_the_wal_and_every_export(city: dict[str, Any]) -> None:
    """Studio and activity names, leader, another's note (ID number too), actors, journal: all erased."""
    registry, path = city["registry"], city["path"]
    secrets = _secrets(city)
    assert NAME.encode() in _on_disk(path) and PHONE.encode() in _on_disk(path)
    before = [(r["studio"], r["minutes"]) for r in volreg.hours(registry, by="studio")]
    registry.anonymise(city["subject"].person, by="文明办")
    alias = _alias(city["subject"].person)
    assert [] == _left(_on_disk(path), secrets)
    assert [] == _left(_exports(city), secrets)
    assert [] == _left("\n".join(registry.db.iterdump()).encode(), secrets)
    assert before == [(r["studio"], r["minutes"]) for r in volreg.hours(registry, by="studio")]  # statistics unchanged
    studio = next(iter(registry.db.query("SELECT name FROM studios")))["name"]
    activity = next(iter(registry.db.query("SELECT title, leader FROM activities")))
    note = next(iter(registry.db.query("SELECT note FROM service_records WHERE volunteer = ?", [city["other"].id])))
    assert (f"{alias}爱心公益工作室", f"{alias}带队义诊", alias) == (studio, activity["title"], activity["leader"])
    assert f"与{alias}同组，身份证{alias}，手机{alias}" == note["note"]
    assert {alias, f"审核员（代{alias}）"} == {r["verified_by"] for r in registry.db.query(
        "SELECT verified_by FROM service_records")}
    assert alias == registry.person(city["subject"].person).name


def test_a_namesake_keeps_their_name(tmp_path: Path) -> None:
    """Another person with the same name is someone else: their row and their journal keep the name."""
    registry = volreg.open(tmp_path / "city.db", key="test-key-16-bytes")
    gone = registry.add_person(NAME, phone=PHONE)
    namesake = registry.add_person(NAME)
    registry.anonymise(gone)
    assert (_alias(gone.id), NAME) == (registry.person(gone).name, registry.person(namesake).name)
    assert NAME == registry.history(namesake)[0].after["name"]
    assert _alias(gone.id) == registry.history(gone)[0].after["name"]


def _reader(path: Path) -> subprocess.Popen[str]:
    """Another process that opens the registry and holds a read snapshot until told to stop."""
    code = (
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "c.execute('BEGIN'); c.execute('SELECT count(*) FROM people').fetchone()\n"
        "print('reading', flush=True); sys.stdin.readline(); c.execute('COMMIT'); c.close()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and "reading" == process.stdout.readline().strip()
    return process


def test_a_long_reader_makes_anonymise_say_so_and_complete_erasure_finishes(city: dict[str, Any]) -> None:
    """With another process holding a snapshot, anonymise raises ErasureIncomplete (committed: no query
    shows the name); once the reader is gone, complete_erasure() leaves no byte behind."""
    registry, path = city["registry"], city["path"]
    secrets = _secrets(city)
    reader = _reader(path)
    try:
        with pytest.raises(volreg.ErasureIncomplete, match="committed but not yet physically complete"):
            registry.anonymise(city["subject"].person, timeout=0.2)
        assert NAME.encode() in _on_disk(path)  # the reader's snapshot kept the old pages
        assert [] == list(registry.people(name=NAME))  # yet the erasure is committed
        assert [] == _left(_exports(city), secrets)
    finally:
        assert reader.stdin is not None
        reader.stdin.write("done\n")
        reader.stdin.close()
        reader.wait(timeout=30)
    assert registry.complete_erasure() is True
    assert [] == _left(_on_disk(path), secrets)
    assert registry.complete_erasure() is False  # nothing pending any more


def test_check_reports_and_then_finishes_a_held_up_erasure(city: dict[str, Any]) -> None:
    """check() names an erasure a reader still holds up, and finishes it once the reader is gone."""
    registry, path = city["registry"], city["path"]
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM people").fetchone()
    with pytest.raises(volreg.ErasureIncomplete):
        registry.anonymise(city["subject"].person, timeout=0)
    assert ["erasure_incomplete"] == [p.code for p in volreg.check(registry) if p.code == "erasure_incomplete"]
    reader.execute("COMMIT")
    reader.close()
    assert [] == [p for p in volreg.check(registry) if p.code == "erasure_incomplete"]
    assert [] == _left(_on_disk(path), _secrets(city))


def test_anonymise_waits_for_a_reader_that_finishes_in_time(city: dict[str, Any]) -> None:
    """A reader that ends within the timeout is waited for: anonymise returns and nothing is left."""
    registry, path = city["registry"], city["path"]
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM people").fetchone()
    finish = threading.Timer(0.3, lambda: (reader.execute("COMMIT"), reader.close()))
    finish.start()
    try:
        registry.anonymise(city["subject"].person, timeout=30)
    finally:
        finish.join()
    assert [] == _left(_on_disk(path), _secrets(city))


def test_anonymise_inside_a_transaction_is_completed_after_it(city: dict[str, Any]) -> None:
    """Inside registry.transaction() the checkpoint must wait for the commit: complete_erasure() after it."""
    registry, path = city["registry"], city["path"]
    with registry.transaction():
        registry.anonymise(city["subject"].person)
        with pytest.raises(volreg.RuleViolation, match="after the transaction is committed"):
            registry.complete_erasure()
    assert registry.complete_erasure() is True
    assert [] == _left(_on_disk(path), _secrets(city))


_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def _documents() -> list[tuple[str, str, str | None]]:
    return [
        ("resident", make_id_number(birth="19800101", sequence=123), None),
        ("residence_permit", make_id_number(birth="19750615", region="830000"), None),
        ("foreign_permanent", make_id_number(birth="19900220", region="931560"), None),
        ("foreign_permanent", "ABC123456789012", None),
        ("hk_macao_permit", "H12345678", None),
        ("taiwan_permit", "87654321", None),
        ("passport", "E12345678", "GB"),
        ("passport", "K123456", "US"),  # shorter than 8: masked entirely, so found as a whole run only
    ]


def _typed_forms(kind: str, number: str) -> list[str]:
    """How a number is typed into a note: as issued, in lower case, in full-width characters, and a resident
    number also in its 15-digit form of before 1999."""
    forms = [number, number.lower(), "".join(_FULL_WIDTH.get(c, c) for c in number)]
    if kind == "resident":
        forms.append(number[:6] + number[8:17])
    return forms


@pytest.mark.parametrize(("kind", "number", "country"), _documents(), ids=lambda v: str(v))
def test_a_document_number_typed_anywhere_is_erased_whatever_its_type(tmp_path: Path, kind: str, number: str,
                                                                      country: str | None) -> None:
    """Every document type, typed as issued, in lower case, full-width or (a resident number) in its 15-digit
    form into someone else's note: gone from the file and its WAL; another person's number of the same type in
    the same note stays."""
    registry = volreg.open(tmp_path / "city.db", key="test-key-16-bytes")
    org = registry.add_organisation("新华社区", kind="community")
    subject = registry.register_volunteer(NAME, id_type=kind, id_number=number, id_country=country,
                                          organisation=org, registered_on="2023-01-01")
    other = registry.register_volunteer("李四光", id_number=make_id_number(birth="19800101"), organisation=org,
                                        registered_on="2023-01-01")
    stranger = make_id_number(birth="19800101", sequence=124)  # same birth date, someone else's number
    activity = registry.add_activity("义诊", category="敬老助老", organiser=org, start="2024-03-05 08:00",
                                     end="2024-03-05 18:00")
    forms = _typed_forms(kind, number)
    registry.log_service(other, activity, start="2024-03-05 09:00", end="2024-03-05 12:00",
                         note="证件：" + "，".join(forms) + f"；同组{stranger}")
    registry.anonymise(subject.person)
    alias = _alias(subject.person)
    data = _on_disk(tmp_path / "city.db")
    assert [] == [form for form in forms if form.encode() in data]
    note = next(iter(registry.db.query("SELECT note FROM service_records")))["note"]
    assert note == "证件：" + "，".join([alias] * len(forms)) + f"；同组{stranger}"
    registry.close()


def test_a_document_taken_in_a_merge_is_erased_though_the_birth_dates_differ(tmp_path: Path) -> None:
    """The kept person had a birth date of their own and took the duplicate's document, which encodes another:
    the number is still found (by the birth dates of every person merged in) and erased."""
    registry = volreg.open(tmp_path / "city.db", key="test-key-16-bytes")
    number = make_id_number(birth="19800101")
    keep = registry.add_person(NAME, id_type="none", birth_date="1981-05-05")
    duplicate = registry.add_person(NAME, id_number=number)
    registry.merge_people(keep, duplicate, by="文明办", reason="同一人")
    org = registry.add_organisation("新华社区", kind="community")
    other = registry.register_volunteer("李四光", id_number=make_id_number(), organisation=org,
                                        registered_on="2023-01-01")
    activity = registry.add_activity("义诊", category="敬老助老", organiser=org, start="2024-03-05 08:00",
                                     end="2024-03-05 18:00")
    registry.log_service(other, activity, start="2024-03-05 09:00", end="2024-03-05 12:00", note=f"身份证{number}")
    registry.anonymise(keep)
    assert number.encode() not in _on_disk(tmp_path / "city.db")
    registry.close()


def test_a_phone_typed_with_separators_or_full_width_digits_is_erased(tmp_path: Path) -> None:
    """A phone is typed as 139-1234-5678, 139 1234 5678, +86 139 1234 5678 or in full-width digits: every
    form is gone from the file and its WAL; another number in the same note stays."""
    registry = volreg.open(tmp_path / "city.db", key="test-key-16-bytes")
    org = registry.add_organisation("新华社区", kind="community")
    subject = registry.register_volunteer(NAME, id_number=make_id_number(), phone=PHONE, organisation=org,
                                          registered_on="2023-01-01")
    other = registry.register_volunteer("李四光", id_number=make_id_number(), organisation=org,
                                        registered_on="2023-01-01")
    activity = registry.add_activity("义诊", category="敬老助老", organiser=org, start="2024-03-05 08:00",
                                     end="2024-03-05 18:00")
    forms = ["139-1234-5678", "139 1234 5678", "+86 139 1234 5678", "１３９１２３４５６７８", "（139）1234－5678"]
    registry.log_service(other, activity, start="2024-03-05 09:00", end="2024-03-05 12:00",
                         note="联系：" + "；".join(forms) + "；备用13987654321")
    registry.anonymise(subject.person)
    alias = _alias(subject.person)
    data = _on_disk(tmp_path / "city.db")
    assert [] == [form for form in forms if form.encode() in data]
    note = next(iter(registry.db.query("SELECT note FROM service_records")))["note"]
    assert note == f"联系：{alias}；{alias}；+86 {alias}；{alias}；（{alias}；备用13987654321"
    registry.close()
