"""``sscard kms partner-key …``: the file keys of the bureau's partners (banks, the card maker, employers) —
create, rotate (with an overlap during which files under the previous version still verify), revoke, list and
export for handing to the partner out of band. ``sscard kms ecard-key …``: the SM2 keys that sign e-card codes
(create, rotate, revoke, list the public keys). Each step needs operator.admin and is audited; no command shows
a key except ``export``, which writes it to a file of its own (mode 0600)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from sscard.cli.common import JsonOpt, OperatorOpt, db_and_actor, domain_errors, output
from sscard.kms import partners, signing

kms_app = typer.Typer(help="Key management: partner file keys", no_args_is_help=True)
partner_app = typer.Typer(help="HMAC-SM3 keys that authenticate exchange files, one per partner",
                          no_args_is_help=True)
kms_app.add_typer(partner_app, name="partner-key")
ecard_app = typer.Typer(help="SM2 keys that sign the e-card's codes and revocation lists", no_args_is_help=True)
kms_app.add_typer(ecard_app, name="ecard-key")

PartnerOpt = Annotated[str, typer.Option("--partner", help="bank:<code>, maker:<code>, employer:<USCC> or "
                                                       "city:<pair>")]
EcardKeystoreOpt = Annotated[Path | None, typer.Option(
    "--keystore", help=f"e-card keystore (default ${signing.KEYSTORE_ENV} or {signing.DEFAULT_KEYSTORE})")]
KeystoreOpt = Annotated[Path | None, typer.Option(
    "--keystore", help=f"partner keystore (default ${partners.KEYSTORE_ENV} or {partners.DEFAULT_KEYSTORE})")]


def _ring(keystore: Path | None) -> partners.PartnerKeys:
    return partners.PartnerKeys.from_settings(keystore)


@partner_app.command("create")
@domain_errors
def create(partner: PartnerOpt, keystore: KeystoreOpt = None, as_json: JsonOpt = False,
           operator: OperatorOpt = "system") -> None:
    """Make version 1 of a partner's key (then export it to the partner)."""
    db, actor = db_and_actor(operator)
    output(partners.create_key(db, actor, _ring(keystore), partner).public(), as_json, "partner key created")


@partner_app.command("rotate")
@domain_errors
def rotate(partner: PartnerOpt, keystore: KeystoreOpt = None, as_json: JsonOpt = False,
           operator: OperatorOpt = "system",
           overlap_days: Annotated[int, typer.Option(min=0, max=366, help="days the previous version still "
                                                     "verifies files")] = 30) -> None:
    """Make a new version that signs from now on; the previous one verifies for --overlap-days more."""
    db, actor = db_and_actor(operator)
    rotated = partners.rotate_key(db, actor, _ring(keystore), partner, dt.timedelta(days=overlap_days))
    output(rotated.public(), as_json, "partner key rotated")


@partner_app.command("revoke")
@domain_errors
def revoke(partner: PartnerOpt, version: Annotated[int, typer.Option(min=1)], keystore: KeystoreOpt = None,
           as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """A compromised version: no file under it verifies any more."""
    db, actor = db_and_actor(operator)
    output(partners.revoke_key(db, actor, _ring(keystore), partner, version).public(), as_json, "partner key revoked")


@partner_app.command("list")
@domain_errors
def list_keys(partner: Annotated[str | None, typer.Option("--partner")] = None, keystore: KeystoreOpt = None,
              as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Versions and states (never the keys)."""
    db, actor = db_and_actor(operator)
    output(partners.describe(partners.list_keys(db, actor, _ring(keystore), partner)), as_json, "partner keys")


@partner_app.command("export")
@domain_errors
def export(partner: PartnerOpt, out: Annotated[Path, typer.Option("--out", help="file to write (must not exist)")],
           version: Annotated[int | None, typer.Option(min=1, help="default: the signing version")] = None,
           keystore: KeystoreOpt = None, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Write a version's key to a new file (mode 0600) to hand to the partner out of band; audited."""
    db, actor = db_and_actor(operator)
    if out.exists():
        raise partners.PartnerKeyInvalid(f"{out} exists; export writes a new file only")
    entry, key = partners.export_key(db, actor, _ring(keystore), partner, version)
    body = {"partner": entry.partner, "version": entry.version, "algorithm": partners.ALGORITHM,
            "key_ref": partners.key_ref(entry.partner, entry.version), "key_hex": key.hex()}
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1)
        fh.write("\n")
    output({**entry.public(), "written": str(out)}, as_json, "partner key exported")


@partner_app.command("import")
@domain_errors
def import_(source: Annotated[Path, typer.Argument(help="a file written by `export` on the other side")],
            keystore: KeystoreOpt = None, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Store a key the partner exported (a key both sides hold, such as a city pair's message key,
    docs/transfer.md) under its version; audited."""
    db, actor = db_and_actor(operator)
    try:
        body = json.loads(source.read_text(encoding="utf-8"))
        partner, version, key = str(body["partner"]), int(body["version"]), bytes.fromhex(body["key_hex"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise partners.PartnerKeyInvalid(f"{source}: not an exported key file") from exc
    imported = partners.import_key(db, actor, _ring(keystore), partner, version, key)
    output(imported.public(), as_json, "partner key imported")


@ecard_app.command("create")
@domain_errors
def ecard_create(keystore: EcardKeystoreOpt = None, as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """Make version 1 of the e-card signing key."""
    db, actor = db_and_actor(operator)
    made = signing.create_key(db, actor, signing.SigningKeys.from_settings(keystore))
    output(made.public(), as_json, "e-card signing key created")


@ecard_app.command("rotate")
@domain_errors
def ecard_rotate(keystore: EcardKeystoreOpt = None, as_json: JsonOpt = False, operator: OperatorOpt = "system",
                 overlap_hours: Annotated[int, typer.Option(min=0, max=24 * 30, help="hours the previous version "
                                                            "still verifies")] = 24) -> None:
    """A new version signs from now on; the previous one verifies for --overlap-hours more."""
    db, actor = db_and_actor(operator)
    ring = signing.SigningKeys.from_settings(keystore)
    output(signing.rotate_key(db, actor, ring, dt.timedelta(hours=overlap_hours)).public(), as_json,
           "e-card signing key rotated")


@ecard_app.command("revoke")
@domain_errors
def ecard_revoke(version: Annotated[int, typer.Option(min=1)], keystore: EcardKeystoreOpt = None,
                 as_json: JsonOpt = False, operator: OperatorOpt = "system") -> None:
    """A compromised version: no code under it verifies any more."""
    db, actor = db_and_actor(operator)
    revoked = signing.revoke_key(db, actor, signing.SigningKeys.from_settings(keystore), version)
    output(revoked.public(), as_json, "e-card signing key revoked")


@ecard_app.command("list")
@domain_errors
def ecard_list(keystore: EcardKeystoreOpt = None, as_json: JsonOpt = False) -> None:
    """Versions, states and public keys (what the well-known URL publishes, and the retired and revoked ones)."""
    output([e.public() for e in signing.SigningKeys.from_settings(keystore).entries()], as_json, "e-card signing keys")
