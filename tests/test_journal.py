"""The journal of writes, anonymisation, and ID numbers never stored in clear."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import make_id_number

import volreg


def test_every_write_is_journaled_with_masked_values(registry: volreg.Registry) -> None:
    """Creating and updating a person leaves who, what, before and after, with the phone masked."""
    person = registry.add_person("王小明", phone="13812345678", by="admin")
    registry.update_person(person, phone="13900002222", by="admin")
    changes = registry.history(person.id)
    assert ["create", "update"] == [c.action for c in changes]
    assert ("admin", "138****5678", "139****2222") == (
        changes[1].actor,
        changes[1].before["phone"],
        changes[1].after["phone"],
    )
    assert "13812345678" not in str(changes)


def test_update_person_refuses_identity_fields(registry: volreg.Registry) -> None:
    """The ID number cannot be changed by update_person."""
    person = registry.add_person("王小明")
    with pytest.raises(volreg.InvalidValue, match="'id_number'"):
        registry.update_person(person, id_number="11010519491231002X")


def test_anonymise_erases_personal_data_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After anonymising, no name, phone or ID trace remains in the file, yet ids and registrations stay."""
    monkeypatch.setenv("VOLREG_KEY", "test-key-k-16byte")
    path = tmp_path / "city.db"
    reg = volreg.open(path)
    number = make_id_number("19700101")
    volunteer = reg.register_volunteer(
        "欧阳娜娜", id_number=number, phone="13712345678", registered_on="2024-01-01", area="雄关区"
    )
    reg.update_person(volunteer.person, phone="13787654321")
    person = reg.anonymise(volunteer.person, by="admin")
    alias = "匿名-" + hashlib.sha256(volunteer.person.encode()).hexdigest()[:8]
    assert (alias, None, True) == (person.name, person.phone, person.anonymised)
    assert "anonymised" == reg.volunteer(volunteer.id).status
    reg.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("city.db") and not p.name.endswith(".key"))
    for secret in ("欧阳娜娜", "13712345678", "13787654321", "137****5678", "137****4321", number, number[:6] + "********" + number[-4:]):
        assert secret.encode() not in raw, secret


def test_the_database_never_holds_an_id_number_in_clear(tmp_path: Path, make_volunteer: Callable[..., volreg.Volunteer]) -> None:
    """Registered ID numbers appear nowhere in the database file's bytes."""
    path = tmp_path / "city.db"
    reg = volreg.open(path, key="test-key-k-16byte")
    numbers = [make_id_number(f"19{n:02d}0101") for n in range(50, 80)]
    for n, number in enumerate(numbers):
        reg.register_volunteer(f"志愿者{n}", id_number=number, registered_on="2024-01-01")
    reg.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("city.db") and not p.name.endswith(".key"))
    assert [] == [n for n in numbers if n.encode() in raw]


def test_errors_and_reprs_never_show_an_id_number(registry: volreg.Registry) -> None:
    """Neither a duplicate error nor a repr holds the ID number."""
    number = make_id_number()
    volunteer = registry.register_volunteer("冯十一", id_number=number, registered_on="2024-01-01")
    with pytest.raises(volreg.Duplicate) as caught:
        registry.register_volunteer("冯十一", id_number=number, registered_on="2024-01-01")
    assert number not in str(caught.value) + repr(registry.person(volunteer.person)) + repr(volunteer)
