"""``sscard card``: create a personalised card image, inspect it, send it APDUs, serve it to pcscd via vpcd."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from sscard.chip import HolderData, ImageError, Pins, VirtualCard, load, personalise, save
from sscard.chip.fs import DedicatedFile, ElementaryFile
from sscard.chip.samples import sample_holder
from sscard.chip.vicc import ViccError, serve
from sscard.kms import KeyManager, KmsError
from sscard.terminal.holder import CardInfo, decode_basic, tlv_records

card_app = typer.Typer(help="Virtual social security card (chip): images, APDUs, PC/SC", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

ImageArg = Annotated[Path, typer.Argument(help="card image file (JSON)")]
KeystoreOpt = Annotated[
    Path,
    typer.Option("--keystore", envvar="SSCARD_KEYSTORE", help="JSON keystore (created if missing)"),
]


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"{what} must be YYYY-MM-DD, got {text!r}")


def _load(path: Path) -> VirtualCard:
    try:
        return load(path)
    except FileNotFoundError:
        _fail(f"no card image at {path}")
    except ImageError as exc:
        _fail(str(exc))


def key_manager(keystore: Path, city: str) -> KeyManager:
    """The KMS over a JSON keystore, with ministry keys and the city provisioned on first use."""
    return KeyManager.provisioned(keystore, city)


@card_app.command()
def create(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="where to write the card image")],
    generation: Annotated[int, typer.Option(help="2 = 3DES card, 3 = SM4 card")] = 3,
    name: Annotated[str, typer.Option(help="姓名")] = "张三",
    id_number: Annotated[str, typer.Option(help="社会保障号码 (18 characters)")] = "",
    sex: Annotated[str, typer.Option(help="1 male, 2 female")] = "1",
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "1990-01-02",
    nationality: Annotated[str, typer.Option(help="民族 code, 2 digits")] = "01",
    region: Annotated[str, typer.Option(help="issuing city 行政区划代码")] = "440300",
    card_no: Annotated[str, typer.Option(help="卡号 (9 characters)")] = "A00000001",
    issue_date: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "2024-01-01",
    expiry_date: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "2034-01-01",
    pin: Annotated[str, typer.Option(help="initial SSSE PIN")] = "123456",
    debit_pin: Annotated[str, typer.Option(help="initial debit-application PIN")] = "123456",
    keystore: KeystoreOpt = Path("var/keystore.json"),
) -> None:
    """Personalise a new card image from holder data, with keys derived by the KMS."""
    base = sample_holder(generation if generation in (2, 3) else 3)
    try:
        holder = dataclasses.replace(
            base, id_number=id_number or base.id_number, name=name, sex=sex,
            birth_date=_date(birth_date, "birth date"), nationality=nationality, region_code=region,
            card_no=card_no, issue_date=_date(issue_date, "issue date"),
            expiry_date=_date(expiry_date, "expiry date"), generation=generation,
        )  # fmt: skip
        km = key_manager(keystore, holder.region_code)
        card = personalise(holder, km.card_keys(holder), Pins(ssse=pin, debit=debit_pin))
    except (ValueError, KmsError) as exc:
        _fail(str(exc))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save(card, out_path)
    kind = {2: "2nd generation, 3DES", 3: "3rd generation, SM4"}[generation]
    out.print(f"card {holder.card_no} ({kind}) written to {out_path}")


def _ef(card: VirtualCard, *path: int) -> ElementaryFile | None:
    node: DedicatedFile | ElementaryFile | None = card.mf
    for fid in path:
        node = node.children.get(fid) if isinstance(node, DedicatedFile) else None
    return node if isinstance(node, ElementaryFile) else None


def card_info(card: VirtualCard) -> CardInfo:
    """Decode EF05/EF06 straight from the image (the image owner needs no authentication)."""
    ef05, ef06 = _ef(card, 0xDDF1, 0xEF05), _ef(card, 0xDDF1, 0xEF06)
    return decode_basic(tlv_records(ef05.records if ef05 else []), tlv_records(ef06.records if ef06 else []))


def _summary(card: VirtualCard) -> dict[str, Any]:
    info = card_info(card)
    ssse, debit = card.mf.children.get(0xDDF1), None
    pse = card.mf.children.get(0xDDF2)
    if isinstance(pse, DedicatedFile):
        debit = pse.children.get(0xAD01)
    pin = ssse.pins.get(0) if isinstance(ssse, DedicatedFile) else None
    dpin = debit.pins.get(0x80) if isinstance(debit, DedicatedFile) else None
    data: dict[str, Any] = {
        k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in dataclasses.asdict(info).items()
    }
    data.update(
        atr=card.atr.hex().upper(), generation=card.generation,
        ssse_pin_tries_left=pin.tries_left if pin else None, debit_pin_tries_left=dpin.tries_left if dpin else None,
        atc=card.pboc.atc if card.pboc else None,
    )  # fmt: skip
    return data


@card_app.command()
def inspect(
    image: ImageArg,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show the decoded EF05 (issuer data) and EF06 (holder data) of a card image."""
    data = _summary(_load(image))
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    table = Table(title=f"card image {image}", show_header=False)
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    out.print(table)


@card_app.command()
def apdu(
    image: ImageArg,
    apdus: Annotated[list[str], typer.Argument(help="C-APDUs in hex (spaces allowed inside quotes)")],
    no_save: Annotated[bool, typer.Option("--no-save", help="do not write the changed image back")] = False,
) -> None:
    """Send APDUs to a card image in one session (reset first) and save the image afterwards."""
    card = _load(image)
    card.reset()
    commands: list[bytes] = []
    for text in apdus:
        try:
            commands.append(bytes.fromhex(text.replace(" ", "")))
        except ValueError:
            _fail(f"not hex: {text!r}")
    for command in commands:
        response = card.transmit(command)
        out.print(f"> {command.hex().upper()}")
        body = response[:-2].hex().upper()
        out.print(f"< {body} {response[-2:].hex().upper()}" if body else f"< {response[-2:].hex().upper()}")
    if not no_save:
        save(card, image)


@card_app.command("serve")
def serve_cmd(
    image: ImageArg,
    vpcd: Annotated[str, typer.Option("--vpcd", help="vsmartcard-vpcd endpoint, loopback only")] = "127.0.0.1:35963",
    once: Annotated[bool, typer.Option("--once", help="exit when vpcd disconnects")] = False,
    connect_timeout: Annotated[float, typer.Option(help="seconds to wait for vpcd")] = 30.0,
) -> None:
    """Connect the card image to pcscd through vsmartcard-vpcd; the image is saved after every APDU."""
    logging.basicConfig(level=os.environ.get("SSCARD_LOG_LEVEL", "INFO"), format="%(message)s")
    card = _load(image)
    try:
        serve(card, vpcd, image, once=once, connect_timeout=connect_timeout)
    except ViccError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        save(card, image)


__all__ = ["HolderData", "card_app", "card_info", "key_manager"]
