"""``sscard medical …``: institutions, enrolment, account funding, catalogue and policy import, reconciliation
differences and result files, and an institution counter's settlement by card (``counter-settle``). Domain
errors exit with status 2 and their stable code."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import httpx
import typer

from sscard.auth import service as auth
from sscard.banks.http_client import HttpGateway
from sscard.cli.common import JsonOpt, OperatorOpt, domain_errors, open_db, output
from sscard.cli.settle import settlement_summary
from sscard.kms import KeyManager
from sscard.medical import config, counter, institutions, loading, reconciliation, service
from sscard.medical.errors import BillInvalid, CardUnreadable, CatalogueInvalid, PolicyInvalid
from sscard.registry import idnumber
from sscard.registry.regions import CITY_CODE
from sscard.terminal import debit, station

medical_app = typer.Typer(help="Medical settlement: institutions, catalogue, policy, reconciliation",
                          no_args_is_help=True)
_errors = domain_errors
_db = open_db


@medical_app.command("institution-create")
@_errors
def institution_create(code: str, name: str, kind: Annotated[str, typer.Option(help="hospital | pharmacy")],
                       services: Annotated[str, typer.Option(help="comma-separated: outpatient,inpatient,"
                                                                  "pharmacy,reconcile")],
                       level: Annotated[str | None, typer.Option(help="community | 1 | 2 | 3")] = None,
                       operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Register a designated hospital or pharmacy; prints its API key (shown once)."""
    db = _db()
    issued = institutions.create_institution(db, auth.actor_for_username(db, operator), code, name, kind, level,
                                             [s.strip() for s in services.split(",") if s.strip()])
    output({"institution": issued.institution, "api_key": issued.api_key}, as_json, "institution registered")


@medical_app.command("terminal-add")
@_errors
def terminal_add(code: str, terminal_no: str, description: str = "", operator: OperatorOpt = "system",
                 as_json: JsonOpt = False) -> None:
    db = _db()
    institutions.add_terminal(db, auth.actor_for_username(db, operator), code, terminal_no, description)
    output({"institution": code, "terminal_no": terminal_no}, as_json, "terminal added")


@medical_app.command("enrol")
@_errors
def enrol(id_number: str, scheme: str, person_type: str, operator: OperatorOpt = "system",
          as_json: JsonOpt = False) -> None:
    """参保登记: SCHEME employee|resident, PERSON_TYPE in_service|retired|resident."""
    db = _db()
    service.enrol(db, auth.actor_for_username(db, operator), id_number, scheme, person_type)
    output({"id_number": idnumber.mask(id_number), "scheme": scheme, "person_type": person_type}, as_json,
           "enrolled")


@medical_app.command("account-credit")
@_errors
def account_credit(id_number: str, amount_fen: int, transfer_id: str, operator: OperatorOpt = "system",
                   as_json: JsonOpt = False) -> None:
    """个人账户划入 (idempotent by TRANSFER_ID); prints the new balance in fen."""
    db = _db()
    balance = service.credit_personal_account(db, auth.actor_for_username(db, operator), id_number, amount_fen,
                                              transfer_id)
    output({"balance_fen": balance}, as_json, "personal account credited")


@medical_app.command("catalogue-import")
@_errors
def catalogue_import(path: Path, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Import a catalogue CSV (the settle-trial format), all rows or none."""
    db = _db()
    text = loading.read_input(path, CatalogueInvalid, loading.MAX_CATALOGUE_BYTES)  # bounded: /dev/zero → exit 2
    output(config.import_catalogue_csv(db, auth.actor_for_username(db, operator), text, path.name), as_json,
           "catalogue imported")


@medical_app.command("policy-import")
@_errors
def policy_import(path: Path, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """Store every policy of a policy file (sscard-policy/1), each audited."""
    db = _db()
    text = loading.read_input(path, PolicyInvalid, loading.MAX_POLICY_BYTES)
    output({"stored": config.import_policy_file(db, auth.actor_for_username(db, operator), text, path.name)},
           as_json, "policies imported")


@medical_app.command("differences")
@_errors
def differences(run_id: int, operator: OperatorOpt = "system", as_json: JsonOpt = False) -> None:
    """List the differences of a reconciliation run."""
    db = _db()
    found = reconciliation.differences(db, auth.actor_for_username(db, operator), run_id)
    output([d.model_dump(mode="json") for d in found], as_json, f"differences of run {run_id}")


@medical_app.command("resolve")
@_errors
def resolve(difference_id: int, status: int, note: str, operator: OperatorOpt = "system",
            as_json: JsonOpt = False) -> None:
    """Move a difference to STATUS 1 (已核对) or 2 (已平账) with a NOTE."""
    db = _db()
    output(reconciliation.resolve(db, auth.actor_for_username(db, operator), difference_id, status, note)
           .model_dump(mode="json"), as_json, f"difference {difference_id}")


@medical_app.command("recon-result")
@_errors
def recon_result(run_id: int, out: Annotated[Path | None, typer.Option("--out", help="write the CSV here")] = None,
                 operator: OperatorOpt = "system") -> None:
    """The result file of a reconciliation run (CSV)."""
    db = _db()
    text = reconciliation.result_csv(db, auth.actor_for_username(db, operator), run_id)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))


@medical_app.command("counter-settle")
@_errors
def counter_settle(
    bill: Annotated[Path, typer.Argument(help="the 2207 request's bill object (JSON: date, visit_type, lines …)")],
    server: Annotated[str, typer.Option(help="the settlement centre, e.g. http://127.0.0.1:8000")],
    key: Annotated[str, typer.Option(envvar="SSCARD_INSTITUTION_KEY", help="the institution's API key")],
    card_image: Annotated[Path | None, typer.Option(help="the card in the reader (a chip image; default: "
                                                         f"${station.IMAGE_ENV})")] = None,
    keystore: Annotated[Path | None, typer.Option(help="keys that issue the reader's PSAM (default: "
                                                       f"${station.KEYSTORE_ENV} or var/keystore.json)")] = None,
    trial: Annotated[bool, typer.Option("--trial", help="2206 pre-settlement only: nothing is paid")] = False,
    terminal: Annotated[str | None, typer.Option(help="this counter's terminal number")] = None,
    msg_id: Annotated[str | None, typer.Option(help="re-send an earlier message (its first answer comes back)")]
    = None,
    bank: Annotated[str | None, typer.Option(envvar="SSCARD_CARD_BANK_URL",
                                             help="the card's issuing bank (its loopback service): pay the cash "
                                                  "part with the card's debit application after 2207")] = None,
    bank_code: Annotated[str, typer.Option(envvar="SSCARD_CARD_BANK_CODE", help="that bank's code")] = "ICBC",
    pin: Annotated[str | None, typer.Option(envvar="SSCARD_DEBIT_PIN", hidden=True,
                                            help="the debit PIN from the PIN pad")] = None,
    pcsc_reader: Annotated[str | None, typer.Option(help="a PC/SC reader (pcscd) instead of a card image, "
                                                         "e.g. 'Virtual PCD 00 00'")] = None,
    as_json: JsonOpt = False,
) -> None:
    """At a hospital or pharmacy counter: read the card through the terminal (PSAM), then pre-settle or settle
    BILL for it at the centre; a lost answer is re-sent with the same message id (paid once). With ``--bank``
    the settlement's cash part is then paid on the same card (PBOC purchase authorised by the issuing bank,
    recorded at the centre; docs/debit.md): ``cash_payment`` in the answer says paid, declined (the bank's
    reason; the settlement stands, the patient pays otherwise), already_paid or nothing_to_pay."""
    keys = KeyManager.provisioned(keystore or Path(os.environ.get(station.KEYSTORE_ENV, "var/keystore.json")),
                                  CITY_CODE)
    reader: station.ImageCardReader | station.PcscCardReader
    if pcsc_reader is not None:
        reader = station.PcscCardReader(pcsc_reader, keys)
    else:
        image = card_image or Path(os.environ.get(station.IMAGE_ENV, "var/cards/card.json"))
        reader = station.ImageCardReader(image, keys)
    try:
        card_no = reader.read_card_no()
    except station.NoCard as exc:
        raise CardUnreadable(str(exc)) from None
    try:
        request = json.loads(loading.read_input(bill, BillInvalid, loading.MAX_BILL_BYTES))
        bill_date = dt.date.fromisoformat(str(request["date"]))
    except (ValueError, RecursionError, KeyError, TypeError) as exc:
        raise BillInvalid(f"{bill}: {exc}") from None

    def prove(body: bytes) -> str:  # the card in the reader signs the exact request (its ARQC)
        try:
            return reader.prove_settlement(card_no, body, bill_date)
        except station.NoCard as exc:
            raise CardUnreadable(str(exc)) from None
    with httpx.Client(base_url=server, timeout=10.0) as client:
        result = counter.settle_card(client, key, card_no, request, trial=trial, terminal_no=terminal,
                                     msg_id=msg_id, prove=prove)
        out = {"msg_id": result.msg_id, "card_no": result.card_no, "attempts": result.attempts, **result.answer}
        if bank is not None and not trial:
            issuer = HttpGateway(bank_code, bank, timeout=10.0)
            try:
                paid = debit.pay_cash_part(reader, issuer, client, key, result.answer, pin=pin,
                                           terminal_no=terminal or "")
            except station.NoCard as exc:
                raise CardUnreadable(str(exc)) from None
            finally:
                issuer.close()
            out["cash_payment"] = paid.as_dict()
    if as_json:
        output(out, as_json)
        return
    output(settlement_summary(out), as_json, "pre-settlement (2206)" if trial else "settlement (2207)")


@medical_app.command("counter-refund")
@_errors
def counter_refund(
    setl_id: Annotated[str, typer.Argument(help="the reversed settlement (2208 / 2601) whose cash part was paid by "
                                                "card")],
    server: Annotated[str, typer.Option(help="the settlement centre, e.g. http://127.0.0.1:8000")],
    key: Annotated[str, typer.Option(envvar="SSCARD_INSTITUTION_KEY", help="the institution's API key")],
    bank: Annotated[str, typer.Option(envvar="SSCARD_CARD_BANK_URL", help="the card's issuing bank (its service)")],
    bank_code: Annotated[str, typer.Option(envvar="SSCARD_CARD_BANK_CODE", help="that bank's code")] = "ICBC",
    as_json: JsonOpt = False,
) -> None:
    """退款: after a reversal, have the issuing bank refund the settlement's card payment under the reference the
    centre gave, then report it to the centre (docs/debit.md). Safe to repeat: refunded once. Prints the outcome:
    refunded, already_refunded, nothing_to_refund (not paid by card, or not reversed) or refused (the bank's
    reason)."""
    issuer = HttpGateway(bank_code, bank, timeout=10.0)
    try:
        with httpx.Client(base_url=server, timeout=10.0) as client:
            done = debit.refund_cash_part(issuer, client, key, setl_id)
    finally:
        issuer.close()
    output({"setl_id": setl_id, **done.as_dict()}, as_json, "card refund")


@medical_app.command("card-recon")
@_errors
def card_recon(
    institution: Annotated[str, typer.Argument(help="the institution's code (its merchant at the bank)")],
    bank: Annotated[str, typer.Option(envvar="SSCARD_CARD_BANK_URL", help="the card's issuing bank (its service)")],
    bank_code: Annotated[str, typer.Option(envvar="SSCARD_CARD_BANK_CODE", help="that bank's code")] = "ICBC",
    day: Annotated[str | None, typer.Option(help="the purchases' date (YYYY-MM-DD; default today)")] = None,
    operator: OperatorOpt = "system",
    as_json: JsonOpt = False,
) -> None:
    """The card payments of INSTITUTION through the bank on DAY against the bank's statement, by reference and to
    the fen, refunds included (docs/debit.md, "Reconciliation"); exits 1 when not balanced."""
    from sscard import clock
    from sscard.medical import debit as card_payments

    when = dt.date.fromisoformat(day) if day else clock.local_date()
    issuer = HttpGateway(bank_code, bank, timeout=10.0)
    try:
        statement = issuer.card_purchases(institution, when)
    finally:
        issuer.close()
    db = _db()
    out = card_payments.card_reconciliation(db, auth.actor_for_username(db, operator), institution, bank_code, when,
                                            statement)
    output(out.model_dump(mode="json"), as_json, "card payments against the bank's statement")
    if not out.balanced:
        raise typer.Exit(1)
