"""``volreg proof ...``: issue, list, print, revoke and verify proofs of service from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli_output import emit, output_options
from ..cli_shared import open_registry, registry_argument
from ..model.proofs import PROOF_STATUSES, Proof
from ..queries.proofs import proof_register
from .verify import verify_proof

__all__ = ["proof"]


@click.group(short_help="Proofs of service (志愿服务记录证明): issue, list, print, revoke, verify.")
def proof() -> None:
    """Proofs of service (志愿服务记录证明): numbered, signed, printable, and verifiable offline.

    \b
    volreg proof issue city.db V2024000001 --organisation 新华社区 --by 李明 --pdf proof.pdf
    volreg proof key city.db -o city-public.pem       # give this to schools and employers
    volreg proof verify proof.pdf --public-key city-public.pem
    """


def _show(found: Proof) -> None:
    click.echo(f"proof {found.number} ({found.status}): {found.name_masked} {found.volunteer_number}, "
               f"{found.organisation_name}, {found.period_start} to {found.period_end}, {found.hours_text} "
               f"({found.minutes} minutes)")
    for line in found.lines:
        click.echo(f"  {line.label or '-'}: {line.minutes} minutes in {line.records} records")
    click.echo(f"statement: {found.statement}")


@proof.command(short_help="Issue a proof of a volunteer's verified service with one organisation.")
@registry_argument
@click.argument("volunteer")
@click.option("--organisation", required=True, metavar="ID|NAME",
              help="The issuing organisation: only activities it organised itself count.")
@click.option("--start", metavar="DATE", help="First day counted (default: the first day of counted service).")
@click.option("--end", metavar="DATE", help="Count only days before this date (exclusive).")
@click.option("--by", "by", required=True, metavar="WHO", help="Who issues it (printed on the proof).")
@click.option("--purpose", default="", help="What the volunteer asked for it for (e.g. 升学), printed.")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, writable=True), help="Write the A4 PDF here.")
@click.option("--json", "as_json", is_flag=True, help="Print the proof as JSON.")
def issue(db: str, volunteer: str, organisation: str, start: str | None, end: str | None, by: str, purpose: str,
          pdf: str | None, as_json: bool) -> None:
    """Issue a numbered, signed proof for VOLUNTEER (id or volunteer number) in DB.

    The signing key is DB.signing.key (created on first use, owner-only); keep it with the database.
    """
    with open_registry(db) as registry:
        issued = registry.issue_proof(volunteer, organisation=registry.session.named("organisation", organisation),
                                      start=start, end=end, by=by, purpose=purpose)
    if pdf:
        issued.to_pdf(pdf)
    if as_json:
        click.echo(issued.to_json())
    else:
        _show(issued)
        if pdf:
            click.echo(f"wrote {pdf}")


@proof.command("list", short_help="The register of issued proofs.")
@registry_argument
@click.option("--volunteer", metavar="ID|NUMBER", help="Only this volunteer's proofs.")
@click.option("--organisation", metavar="ID|NAME", help="Only proofs this organisation issued.")
@click.option("--status", multiple=True, type=click.Choice(PROOF_STATUSES), help="Only this status; repeatable.")
@click.option("--start", metavar="DATE", help="Only proofs issued on or after this day.")
@click.option("--end", metavar="DATE", help="Only proofs issued before this day.")
@output_options
def list_(db: str, volunteer: str | None, organisation: str | None, status: tuple[str, ...], start: str | None,
          end: str | None, output: str) -> None:
    """The register of proofs issued in DB, oldest first (names masked, no document numbers)."""
    with open_registry(db) as registry:
        org = None if organisation is None else registry.session.named("organisation", organisation)
        emit(proof_register(registry, volunteer=volunteer, organisation=org, status=status or None, start=start,
                            end=end), output)


@proof.command(short_help="Show one proof, or print it again as a PDF.")
@registry_argument
@click.argument("number")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, writable=True), help="Write the A4 PDF here.")
@click.option("--json", "as_json", is_flag=True, help="Print the proof as JSON.")
def show(db: str, number: str, pdf: str | None, as_json: bool) -> None:
    """Show the proof NUMBER (or id) from DB's register; --pdf prints it again (a superseded or revoked proof
    is printed with that stamped across it)."""
    with open_registry(db) as registry:
        found = registry.proof(number)
    if pdf:
        found.to_pdf(pdf)
    if as_json:
        click.echo(found.to_json())
    else:
        _show(found)
        if pdf:
            click.echo(f"wrote {pdf}")


@proof.command(short_help="Revoke a proof; it stays in the register as revoked.")
@registry_argument
@click.argument("number")
@click.option("--by", "by", required=True, metavar="WHO", help="Who revokes it.")
@click.option("--reason", required=True, help="Why.")
def revoke(db: str, number: str, by: str, reason: str) -> None:
    """Revoke the proof NUMBER in DB."""
    with open_registry(db) as registry:
        done = registry.revoke_proof(number, by=by, reason=reason)
    click.echo(f"revoked proof {done.number}")


@proof.command(short_help="Print or write the public key that checks the registry's proofs.")
@registry_argument
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, writable=True),
              help="Write the key to this file (default: print it).")
def key(db: str, target: str | None) -> None:
    """The public key (PEM) that checks DB's proofs: give it to whoever checks them. It is not secret; the
    private key stays in DB.signing.key."""
    with open_registry(db) as registry:
        pem = registry.proof_public_key()
    if target:
        Path(target).write_text(pem, encoding="ascii")
        click.echo(f"wrote {target}")
    else:
        click.echo(pem, nl=False)


@proof.command(short_help="Check a proof offline: its statement, file or PDF, against a public key.")
@click.argument("source", metavar="FILE_OR_STATEMENT")
@click.option("--public-key", "public_key", metavar="KEY_FILE",
              help="The issuer's public key (PEM file, from: volreg proof key DB).")
@click.option("--db", "db", type=click.Path(dir_okay=False, exists=True),
              help="Also check the issuing registry's register (revoked, superseded).")
def verify(source: str, public_key: str | None, db: str | None) -> None:
    """Check the proof in FILE_OR_STATEMENT (a volreg PDF, a text file, or the QR code's text).

    Prints the signed facts to compare with the page; the exit status is 1 unless the proof is valid.
    """
    if public_key is None and db is None:
        raise click.UsageError("give --public-key KEY_FILE (or --db DB to use the registry's keys)")
    if db:
        with open_registry(db) as registry:
            result = verify_proof(source, public_key, registry=registry)
    else:
        result = verify_proof(source, public_key)
    click.echo(f"{result.reason}: {result.message}")
    if not result.valid:
        sys.exit(1)
