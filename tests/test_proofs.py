"""Proofs of service (志愿服务记录证明): issuing, the register, superseding, revoking and offline verification."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import volreg
from volreg.proof.statement import FIELDS, parse_statement, signed_text

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


@pytest.fixture
def wang(make_volunteer: Callable[..., volreg.Volunteer]) -> volreg.Volunteer:
    """王小明, a volunteer of 新华社区 with a known ID and phone number."""
    return make_volunteer("王小明", id_number=ID_NUMBER, phone=PHONE)


@pytest.fixture
def served(registry: volreg.Registry, wang: volreg.Volunteer, make_activity: Callable[..., volreg.Activity],
           community: volreg.Organisation, city: volreg.Organisation) -> dict[str, Any]:
    """Wang's service: verified 敬老助老 (150 + 90 min) and 文明出行 (60 min) with the community, one pending record
    there, and verified service in an activity the city office ran itself (45 min)."""
    def serve(day: str, minutes: int, *, category: str = "敬老助老", organiser: Any = community,
              verify: bool = True) -> volreg.ServiceRecord:
        act = make_activity(f"服务 {day} {category}", category=category, organiser=organiser,
                            start=f"{day} 09:00", end=f"{day} 17:00")
        record = registry.log_service(wang, act, start=f"{day} 09:00", minutes=minutes, by="新华社区")
        return registry.verify_service(record, by="审核员") if verify else record

    return {
        "a": serve("2024-03-05", 150),
        "b": serve("2024-04-10", 90),
        "c": serve("2024-05-01", 60, category="文明出行"),
        "pending": serve("2024-06-01", 30, verify=False),
        "city": serve("2024-07-01", 45, organiser=city),
    }


def _issue(registry: volreg.Registry, wang: volreg.Volunteer, community: volreg.Organisation,
           **kwargs: Any) -> volreg.Proof:
    kwargs.setdefault("by", "李明")
    return registry.issue_proof(wang, organisation=community, **kwargs)


# -- issuing --------------------------------------------------------------------------------------------


def test_a_proof_counts_the_organisations_own_verified_service(registry, wang, community, served) -> None:
    """Only verified service in activities the issuer ran itself counts, per category and in total."""
    proof = _issue(registry, wang, community, purpose="升学")
    assert 300 == proof.minutes
    assert "5 小时 0 分钟" == proof.hours_text
    assert [("敬老助老", 240, 2), ("文明出行", 60, 1)] == [(x.label, x.minutes, x.records) for x in proof.lines]
    assert {served["a"].id, served["b"].id, served["c"].id} == set(proof.records)
    assert (date(2024, 3, 5), date(2024, 5, 1)) == (proof.period_start, proof.period_end)
    assert ("王小明", "王*明", wang.number, "新华社区") == (proof.name, proof.name_masked, proof.volunteer_number,
                                                       proof.organisation_name)
    assert proof.id_masked and proof.id_masked != ID_NUMBER and "*" in proof.id_masked
    assert ("李明", "升学", "issued") == (proof.issued_by, proof.purpose, proof.status)
    year = registry.session.now().year
    assert re.fullmatch(rf"[0-9A-Z]{{1,6}}-{year}-00001", proof.number)
    assert proof == registry.proof(proof.number) == registry.proof(proof.id)


def test_a_parent_organisation_does_not_certify_its_communities_service(registry, wang, city, served) -> None:
    """The city office certifies only the activity it ran itself, not its community's."""
    proof = registry.issue_proof(wang, organisation=city, by="文明办")
    assert (45, (served["city"].id,)) == (proof.minutes, proof.records)


def test_the_period_is_half_open_and_printed_inclusive(registry, wang, community, served) -> None:
    """``end`` is exclusive like every volreg period; the page shows the last day covered."""
    proof = _issue(registry, wang, community, start="2024-04-01", end="2024-05-01")
    assert (90, (served["b"].id,)) == (proof.minutes, proof.records)
    assert (date(2024, 4, 1), date(2024, 4, 30)) == (proof.period_start, proof.period_end)


def test_numbers_are_a_sequence_per_organisation_and_year(registry, wang, community, city, served) -> None:
    """Each issuer numbers its proofs 1, 2, 3 ... in a year; numbers are unique in the registry."""
    first, second = _issue(registry, wang, community), _issue(registry, wang, community)
    other = registry.issue_proof(wang, organisation=city, by="文明办")
    assert first.number.endswith("-00001") and second.number.endswith("-00002")
    assert other.number.endswith("-00001")
    assert len({first.number, second.number, other.number}) == 3


def test_a_proof_without_verified_service_is_refused_and_explained(registry, wang, community, city,
                                                                   make_activity) -> None:
    """No verified service with the organisation: the refusal names the rule, the pending records and the
    organisation that can certify; nothing is written."""
    act = make_activity(organiser=community)
    registry.log_service(wang, act, start="2024-03-05 09:00", minutes=60, by="新华社区")  # pending only
    other = make_activity("城市服务", organiser=city, start="2024-03-06 09:00", end="2024-03-06 17:00")
    registry.verify_service(registry.log_service(wang, other, start="2024-03-06 09:00", minutes=60), by="x")
    before = list(registry.db.iterdump())
    with pytest.raises(volreg.RuleViolation) as caught:
        _issue(registry, wang, community)
    message = str(caught.value)
    assert "proof_basis" == caught.value.rule
    assert "谁组织谁记录" in message and "新华社区" in message and wang.number in message
    assert "1 of its records of this volunteer are still pending" in message
    assert "嘉峪关市文明办" in message
    assert before == list(registry.db.iterdump())


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"by": ""}, "by"),
    ({"by": None}, "by"),
    ({"by": "x", "start": "2024-05-01", "end": "2024-05-01"}, "end"),
    ({"by": "x", "start": "not a date"}, "start"),
    ({"by": "x", "purpose": "a\nb"}, "purpose"),
])
def test_bad_arguments_are_refused(registry, wang, community, served, kwargs, field) -> None:
    """Bad arguments name their field and write nothing."""
    with pytest.raises(volreg.InvalidValue) as caught:
        registry.issue_proof(wang, organisation=community, **kwargs)
    assert field == caught.value.field
    assert [] == list(registry.proofs())


# -- the register ---------------------------------------------------------------------------------------


def test_the_register_lists_and_filters(registry, wang, community, city, served, make_volunteer) -> None:
    """``proofs()`` filters by volunteer, organisation, status and issue day; ``proof_register`` is a Result."""
    first = _issue(registry, wang, community)
    second = registry.issue_proof(wang, organisation=city, by="文明办")
    registry.revoke_proof(first, by="李明", reason="出具有误")
    other = make_volunteer("赵六")
    assert [first.number, second.number] == [p.number for p in registry.proofs()]
    assert [second.number] == [p.number for p in registry.proofs(organisation=city)]
    assert [first.number, second.number] == [p.number for p in registry.proofs(organisation=city, within=True)]
    assert [first.number] == [p.number for p in registry.proofs(status="revoked")]
    assert [] == list(registry.proofs(volunteer=other))
    today = registry.session.now().date()
    assert [] == list(registry.proofs(end=today))
    assert 2 == len(list(registry.proofs(start=today, end=today + timedelta(days=1))))
    result = volreg.proof_register(registry, status=("issued",))
    assert [(second.number, "issued", "王*明", 45, 0.75)] == [
        (r["number"], r["status"], r["volunteer_name"], r["minutes"], r["hours"]) for r in result]
    with pytest.raises(volreg.InvalidValue):
        list(registry.proofs(status="lost"))


# -- superseding and revoking -----------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["correct", "void", "edit_in_place"])
def test_a_changed_counted_record_supersedes_the_proof(registry, wang, community, served, change) -> None:
    """Correcting or voiding a counted record (or another tool editing its row) marks the proof superseded in
    the same transaction; check() reports it until a new proof is issued, which counts the ledger as it is."""
    proof = _issue(registry, wang, community)
    record = served["b"]
    if change == "correct":
        registry.correct_service(record, by="审核员", reason="志愿者申请更正", minutes=120)
    elif change == "void":
        registry.void_service(record, by="审核员", reason="重复录入")
    else:   # only pending records can be rejected, and those never count; another tool may edit a row
        registry.db.execute("UPDATE service_records SET minutes = 100 WHERE id = ?", [record.id])
    stored = registry.proof(proof.number)
    assert "superseded" == stored.status
    assert record.id in stored.status_reason
    problems = [p for p in volreg.check(registry) if p.entity == "proof"]
    assert [("proof_superseded", proof.id)] == [(p.code, p.id) for p in problems]
    assert proof.number in problems[0].message
    assert "superseded" == volreg.verify_proof(proof.statement, registry=registry).reason
    assert volreg.verify_proof(proof.statement, registry.proof_public_key()).valid   # the paper itself is intact
    again = _issue(registry, wang, community)
    expected = {"correct": 330, "void": 210, "edit_in_place": 310}[change]
    assert expected == again.minutes
    assert [] == [p for p in volreg.check(registry) if p.entity == "proof"]


def test_check_reports_an_issued_proof_counting_a_record_that_no_longer_stands(registry, wang, community,
                                                                                 served) -> None:
    """A proof linked, behind the registry's back, to a record that is not verified is reported as stale."""
    proof = _issue(registry, wang, community)
    registry.db.execute("INSERT INTO proof_records (proof, record, minutes) VALUES (?, ?, 30)",
                        [proof.id, served["pending"].id])
    problems = [p for p in volreg.check(registry) if p.entity == "proof"]
    assert [("proof_stale", proof.id)] == [(p.code, p.id) for p in problems]
    assert served["pending"].id in problems[0].message


def test_a_record_verified_later_does_not_supersede(registry, wang, community, served) -> None:
    """A proof is not wrong when more service is verified after it; it stays issued."""
    proof = _issue(registry, wang, community)
    registry.verify_service(served["pending"], by="审核员")
    assert "issued" == registry.proof(proof.id).status


def test_an_activity_moved_to_another_organiser_supersedes(registry, wang, community, city, served) -> None:
    """When a counted activity changes organiser (an import fixing it, say), the proof no longer holds."""
    proof = _issue(registry, wang, community)
    registry.db.execute("UPDATE activities SET organiser = ? WHERE id = ?", [city.id, served["a"].activity])
    assert "superseded" == registry.proof(proof.id).status


def test_a_revoked_proof_stays_in_the_register(registry, wang, community, served) -> None:
    """Revoking keeps the proof, marks it revoked with who and why; verifying with the registry says so."""
    proof = _issue(registry, wang, community)
    revoked = registry.revoke_proof(proof.number, by="李明", reason="出具有误")
    assert ("revoked", "李明", "出具有误") == (revoked.status, revoked.status_by, revoked.status_reason)
    assert revoked == registry.proof(proof.id)
    answer = volreg.verify_proof(proof.statement, registry.proof_public_key(), registry=registry)
    assert (False, "revoked", True) == (answer.valid, answer.reason, answer.signature_valid)
    with pytest.raises(volreg.RuleViolation):
        registry.revoke_proof(proof, by="李明", reason="again")
    with pytest.raises(volreg.InvalidValue):
        registry.revoke_proof(_issue(registry, wang, community), by="李明", reason=" ")
    assert [] == [p for p in volreg.check(registry) if p.entity == "proof"]
    assert ["issue", "revoke"] == [c.action for c in registry.history(proof.id)]


def test_anonymising_the_volunteer_erases_their_masked_name_from_proofs(registry, wang, community, served) -> None:
    """The register keeps the proof's number and hours, not the person."""
    proof = _issue(registry, wang, community)
    registry.anonymise(wang.person)
    stored = registry.proof(proof.id)
    assert ("", None, 300) == (stored.name_masked, stored.id_masked, stored.minutes)
    assert stored.name.startswith("匿名-")           # the person's stable pseudonym, never their name
    with pytest.raises(volreg.RuleViolation):
        _issue(registry, wang, community)


# -- verifying offline ------------------------------------------------------------------------------------


def test_a_proof_verifies_offline_with_the_public_key_alone(registry, wang, community, served) -> None:
    """The statement, checked with only the PEM public key, is valid and gives the signed facts."""
    proof = _issue(registry, wang, community)
    pem = registry.proof_public_key()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    answer = volreg.verify_proof(proof.statement, pem)
    assert (True, "valid") == (answer.valid, answer.reason)
    assert {"no": proof.number, "name": "王*明", "org": "新华社区", "from": "2024-03-05", "to": "2024-05-01",
            "min": "300"} == {k: answer.fields[k] for k in ("no", "name", "org", "from", "to", "min")}
    assert volreg.verify_proof(proof.statement, registry=registry).valid


def _tampered(statement: str, field: str) -> str:
    fields, _, signature = parse_statement(statement)
    if field == "sig":
        flipped = "A" if signature[10] != "A" else "B"
        return f"{signed_text(fields)}|sig={signature[:10]}{flipped}{signature[11:]}"
    value = fields[field]
    fields[field] = value[:-1] + ("1" if value[-1:] != "1" else "2") if value else "x"
    return f"{signed_text(fields)}|sig={signature}"


@pytest.mark.parametrize("field", [*FIELDS, "sig"])
def test_every_field_tampered_is_caught(registry, wang, community, served, field) -> None:
    """Changing any one field of the statement makes it invalid: tampered, or an unknown key for the key id."""
    proof = _issue(registry, wang, community)
    changed = _tampered(proof.statement, field)
    assert changed != proof.statement
    answer = volreg.verify_proof(changed, registry.proof_public_key())
    assert not answer.valid and not answer
    assert ("unknown_key" if field == "key" else "tampered") == answer.reason


@pytest.mark.parametrize("text", ["VOLREG-PROOF/2", "VOLREG-PROOF/1|no=1", "VOLREG-PROOF/1|" + "x|" * 10])
def test_a_broken_statement_is_malformed(registry, text) -> None:
    """A statement that lost fields is answered as malformed, not raised."""
    answer = volreg.verify_proof(text, registry.proof_public_key())
    assert (False, "malformed") == (answer.valid, answer.reason)


@pytest.mark.parametrize("source", ["", "hello", "no-such-file.pdf", 42, None])
def test_neither_a_statement_nor_a_file_is_refused(registry, source) -> None:
    """Something that is neither a statement nor an existing file is a mistake to report, naming the argument."""
    with pytest.raises(volreg.InvalidValue, match="statement_or_file"):
        volreg.verify_proof(source, registry.proof_public_key())


def test_another_registrys_key_is_an_unknown_key(registry, wang, community, served) -> None:
    """A proof checked with another registry's public key is not valid: unknown key."""
    proof = _issue(registry, wang, community)
    with volreg.open(":memory:") as other:
        answer = volreg.verify_proof(proof.statement, other.proof_public_key())
        assert (False, "unknown_key") == (answer.valid, answer.reason)
        assert "not_in_register" == volreg.verify_proof(proof.statement, registry.proof_public_key(),
                                                        registry=other).reason


def test_a_public_key_is_needed(registry, wang, community, served) -> None:
    """Without a key or a registry there is nothing to check against."""
    proof = _issue(registry, wang, community)
    with pytest.raises(volreg.InvalidValue):
        volreg.verify_proof(proof.statement)
    with pytest.raises(volreg.InvalidValue):
        volreg.verify_proof(proof.statement, "not a key")


# -- the signing key --------------------------------------------------------------------------------------


def test_a_file_registry_keeps_its_signing_key_beside_it(tmp_path, monkeypatch) -> None:
    """``<db>.signing.key`` is owner-only, survives reopening, and never enters the database or an export."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    with volreg.open(path) as registry:
        pem = registry.proof_public_key()
    key_file = Path(str(path) + ".signing.key")
    assert 0o600 == stat.S_IMODE(key_file.stat().st_mode)
    with volreg.open(path) as registry:
        assert pem == registry.proof_public_key()
        volreg.export_registry(registry, tmp_path / "backup.jsonl")
    secret = key_file.read_bytes()
    body = b"".join(line for line in secret.splitlines() if not line.startswith(b"-----"))
    for name in ("city.db", "city.db-wal", "backup.jsonl"):
        if (tmp_path / name).exists():
            assert body not in (tmp_path / name).read_bytes()


def test_a_lost_signing_key_is_refused_until_a_new_one_is_started(tmp_path, monkeypatch) -> None:
    """Losing the key file after signing is an error, not a silent new key; ``new_proof_key`` starts one on
    purpose, and proofs signed with the old key still check against the register."""
    from factories import make_id_number

    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    with volreg.open(path) as registry:
        org = registry.add_organisation("新华社区", kind="community")
        vol = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org,
                                          registered_on="2024-01-01")
        act = registry.add_activity("服务", category="敬老助老", organiser=org, start="2024-03-05 09:00",
                                    end="2024-03-05 17:00")
        registry.verify_service(registry.log_service(vol, act, start="2024-03-05 09:00", minutes=60), by="x")
        old = registry.issue_proof(vol, organisation=org, by="李明")
        old_pem = registry.proof_public_key()
    Path(str(path) + ".signing.key").unlink()
    with volreg.open(path) as registry:
        with pytest.raises(volreg.RuleViolation, match="signing.key"):
            registry.issue_proof(vol, organisation=org, by="李明")
        new_pem = registry.new_proof_key(by="管理员")
        new = registry.issue_proof(vol, organisation=org, by="李明")
        assert new_pem != old_pem and new.key_id != old.key_id
        assert volreg.verify_proof(old.statement, registry=registry).valid
        assert volreg.verify_proof(new.statement, new_pem).valid
        assert "unknown_key" == volreg.verify_proof(old.statement, new_pem).reason
    assert 0o600 == stat.S_IMODE(Path(str(path) + ".signing.key").stat().st_mode)


# -- printing ---------------------------------------------------------------------------------------------


def _page_text(pdf: Path) -> str:
    import pypdf

    return "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def test_the_pdf_shows_the_proof_and_its_qr_code_holds_the_statement(registry, wang, community, served,
                                                                      tmp_path) -> None:
    """The page reads back with the name, number and total hours; the QR image in the file decodes to the
    signed statement; ``verify_proof`` reads the PDF itself."""
    import pypdf
    import zxingcpp

    proof = _issue(registry, wang, community, purpose="升学")
    pdf = proof.to_pdf(tmp_path / "proof.pdf")
    text = _page_text(pdf)
    for expected in ("志愿服务记录证明", "王小明", proof.number, "5 小时 0 分钟", "300 分钟", "敬老助老", "文明出行",
                     "新华社区", "升学", "盖章"):
        assert expected in text
    reader = pypdf.PdfReader(pdf)
    assert 1 == len(reader.pages)
    assert (595, 842) == tuple(round(float(v)) for v in reader.pages[0].mediabox[2:])
    images = reader.pages[0].images
    assert 1 == len(images)
    decoded = [code.text for code in zxingcpp.read_barcodes(images[0].image)]
    assert [proof.statement] == decoded
    assert proof.statement == reader.metadata.subject
    assert volreg.verify_proof(pdf, registry.proof_public_key()).valid
    if _pdftoppm():
        import subprocess

        subprocess.run([_pdftoppm(), "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "proof")],
                       check=True)
        assert (tmp_path / "proof.png").read_bytes().startswith(b"\x89PNG")


def _pdftoppm() -> str | None:
    import shutil

    return shutil.which("pdftoppm")


def test_a_superseded_proof_is_printed_stamped(registry, wang, community, served, tmp_path) -> None:
    """Printing a proof that no longer stands says so across the page."""
    proof = _issue(registry, wang, community)
    registry.void_service(served["a"], by="审核员", reason="重复录入")
    text = _page_text(registry.proof(proof.id).to_pdf(tmp_path / "old.pdf"))
    assert "已失效" in text


def test_no_document_number_phone_or_digest_leaves_in_a_proof(registry, wang, community, served, tmp_path) -> None:
    """The PDF (raw and decoded), the statement, the JSON and the register's exports hold no full ID number,
    phone or ID digest."""
    import pypdf

    proof = _issue(registry, wang, community)
    person = registry.person(wang.person)
    assert person.id_digest
    pdf = proof.to_pdf(tmp_path / "proof.pdf")
    reader = pypdf.PdfReader(pdf)
    register = volreg.proof_register(registry)
    register.to_csv(tmp_path / "register.csv")
    blobs = {
        "pdf": pdf.read_bytes(),
        "pdf text": _page_text(pdf).encode(),
        "pdf streams": b"".join(page.get_contents().get_data() for page in reader.pages),
        "pdf metadata": json.dumps(dict(reader.metadata), ensure_ascii=False).encode(),
        "statement": proof.statement.encode(),
        "json": proof.to_json().encode(),
        "register csv": (tmp_path / "register.csv").read_bytes(),
        "register json": register.to_json().encode(),
        "proof rows": json.dumps(list(registry.session.rows("SELECT * FROM proofs")), ensure_ascii=False).encode(),
    }
    utf16 = ID_NUMBER.encode("utf-16-be")
    for where, blob in blobs.items():
        for secret in (ID_NUMBER.encode(), ID_NUMBER[:-1].encode(), utf16, PHONE.encode(), PHONE[3:].encode(),
                       person.id_digest.encode()):
            assert secret not in blob, where
    assert b"\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e" not in blobs["statement"]   # 王小明 in full: only on the page


# -- the command line ---------------------------------------------------------------------------------------


def test_the_command_line_issues_lists_exports_the_key_and_verifies(tmp_path, monkeypatch) -> None:
    """``volreg proof issue/list/key/verify/revoke`` work on a file, with exit status 1 for an invalid proof."""
    from click.testing import CliRunner
    from factories import make_id_number

    from volreg.cli import cli

    monkeypatch.delenv("VOLREG_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    with volreg.open("city.db") as registry:
        org = registry.add_organisation("新华社区", kind="community")
        vol = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=org,
                                          registered_on="2024-01-01")
        act = registry.add_activity("服务", category="敬老助老", organiser=org, start="2024-03-05 09:00",
                                    end="2024-03-05 17:00")
        registry.verify_service(registry.log_service(vol, act, start="2024-03-05 09:00", minutes=90), by="x")
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    done = run("proof", "issue", "city.db", vol.number, "--organisation", "新华社区", "--by", "李明", "--pdf", "p.pdf")
    assert 0 == done.exit_code, done.output
    assert "1 小时 30 分钟" in done.output and Path("p.pdf").is_file()
    number = re.search(r"proof (\S+) \(issued\)", done.output).group(1)
    assert 0 == run("proof", "key", "city.db", "-o", "pub.pem").exit_code
    checked = run("proof", "verify", "p.pdf", "--public-key", "pub.pem")
    assert (0, True) == (checked.exit_code, checked.output.startswith("valid:"))
    listed = run("proof", "list", "city.db", "--json")
    assert [number] == [row["number"] for row in json.loads(listed.output)]
    refused = run("proof", "issue", "city.db", vol.number, "--organisation", "新华社区", "--by", "李明",
                  "--end", "2024-01-01")
    assert 1 == refused.exit_code and "谁组织谁记录" in refused.output
    assert 0 == run("proof", "revoke", "city.db", number, "--by", "李明", "--reason", "出具有误").exit_code
    assert 0 == run("proof", "verify", "p.pdf", "--public-key", "pub.pem").exit_code    # offline: still signed
    against = run("proof", "verify", "p.pdf", "--db", "city.db")
    assert (1, True) == (against.exit_code, against.output.startswith("revoked:"))
    Path("other.txt").write_text(_tampered(volreg.open("city.db").proof(number).statement, "min"), encoding="utf-8")
    assert 1 == run("proof", "verify", "other.txt", "--public-key", "pub.pem").exit_code
    assert os.path.exists("city.db.signing.key")


# -- hostile input ------------------------------------------------------------------------------------------


def _proof_calls(registry: volreg.Registry, world: dict[str, Any]) -> dict[str, tuple[Any, tuple[Any, ...],
                                                                                      dict[str, Any]]]:
    proof = world["proof"]
    return {
        "issue_proof": (registry.issue_proof, (world["v"],), dict(organisation=world["org"], start="2024-01-01",
                                                                  end="2025-01-01", by="李明", purpose="升学")),
        "revoke_proof": (registry.revoke_proof, (proof,), dict(by="李明", reason="r")),
        "proof": (registry.proof, (proof.number,), {}),
        "proofs": (registry.proofs, (), dict(volunteer=world["v"], organisation=world["org"], status="issued",
                                             start="2024-01-01", end="2099-01-01", within=False)),
        "proof_register": (volreg.proof_register, (registry,), dict(volunteer=world["v"], status="issued")),
        "verify_proof": (volreg.verify_proof, (proof.statement, registry.proof_public_key()),
                         dict(registry=registry)),
        "new_proof_key": (registry.new_proof_key, (), dict(by="管理员")),
    }


def _proof_world(registry: volreg.Registry) -> dict[str, Any]:
    from factories import make_id_number

    org = registry.add_organisation("社区", kind="community")
    v = registry.register_volunteer("王", id_number=make_id_number(), organisation=org, registered_on="2023-01-01")
    act = registry.add_activity("活动", category="敬老助老", start="2024-03-05 08:00", end="2024-03-05 17:00",
                                organiser=org)
    registry.verify_service(registry.log_service(v, act, start="2024-03-05 09:00", minutes=30), by="x")
    return {"org": org, "v": v, "proof": registry.issue_proof(v, organisation=org, by="李明")}


@pytest.mark.parametrize("name", ["issue_proof", "revoke_proof", "proof", "proofs", "proof_register",
                                  "verify_proof", "new_proof_key"])
def test_hostile_arguments_to_proofs(name: str) -> None:
    """Any argument replaced by a hostile value: success or a clear VolregError, and a refusal writes nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from strategies import hostile_values

    registry = volreg.open(":memory:", key="k-key-of-16-bytes")
    fn, args, kwargs = _proof_calls(registry, _proof_world(registry))[name]
    slots = [("arg", i) for i in range(len(args))] + [("kw", k) for k in kwargs]

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(slot=st.sampled_from(slots), value=hostile_values)
    def check(slot: tuple[str, Any], value: Any) -> None:
        call_args, call_kwargs = list(args), dict(kwargs)
        if slot[0] == "arg":
            call_args[slot[1]] = value
        else:
            call_kwargs[slot[1]] = value
        before = list(registry.db.iterdump())
        try:
            result = fn(*call_args, **call_kwargs)
            if hasattr(result, "__iter__") and not isinstance(result, (str, bytes, dict)):
                list(result)
        except volreg.VolregError as error:
            assert str(error).strip() and "\n" not in str(error)
            assert before == list(registry.db.iterdump()), f"a refused {name} changed the database"

    check()
    registry.close()


_ISSUER = """
import sys, volreg
with volreg.open(sys.argv[1], key="k-key-of-16-bytes") as registry:
    for _ in range(int(sys.argv[2])):
        print(registry.issue_proof(sys.argv[3], organisation=sys.argv[4], by="李明").number, flush=True)
"""


def test_processes_issuing_at_once_get_distinct_numbers_and_one_key(tmp_path) -> None:
    """Three processes issuing on one new file at once: every number is distinct and in sequence, and they all
    sign with the one key file the first of them created."""
    import subprocess
    import sys

    from factories import make_id_number

    path = tmp_path / "city.db"
    with volreg.open(path, key="k-key-of-16-bytes") as registry:
        org = registry.add_organisation("社区", kind="community")
        v = registry.register_volunteer("王", id_number=make_id_number(), organisation=org, registered_on="2023-01-01")
        act = registry.add_activity("活动", category="敬老助老", start="2024-03-05 08:00", end="2024-03-05 17:00",
                                    organiser=org)
        registry.verify_service(registry.log_service(v, act, start="2024-03-05 09:00", minutes=30), by="x")
    runs = [subprocess.Popen([sys.executable, "-c", _ISSUER, str(path), "5", v.id, org.id], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [0, 0, 0] == [run.returncode for run in runs], [err for _, err in outputs]
    numbers = sorted(line for out, _ in outputs for line in out.split())
    assert [f"{n:05d}" for n in range(1, 16)] == [number.rsplit("-", 1)[1] for number in numbers]
    with volreg.open(path, key="k-key-of-16-bytes") as registry:
        assert 1 == len(registry.proof_public_keys())
        pem = registry.proof_public_key()
        assert all(volreg.verify_proof(p.statement, pem).valid for p in registry.proofs())


def test_an_archive_restores_the_register_and_its_public_keys(registry, wang, community, served, tmp_path) -> None:
    """Export and restore keep every proof, its status and counted records, and the public keys that check them
    (the private key is not in the archive)."""
    proof = _issue(registry, wang, community)
    revoked = registry.revoke_proof(_issue(registry, wang, community), by="李明", reason="出具有误")
    volreg.export_registry(registry, tmp_path / "backup.jsonl")
    assert b"PRIVATE KEY" not in (tmp_path / "backup.jsonl").read_bytes()
    with volreg.import_registry(tmp_path / "backup.jsonl", into=tmp_path / "restored.db", key="test-key-16-bytes") as copy:
        assert [proof, revoked] == list(copy.proofs())
        assert volreg.verify_proof(proof.statement, registry=copy).valid
        assert "revoked" == volreg.verify_proof(revoked.statement, registry=copy).reason
