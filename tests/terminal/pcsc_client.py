"""PC/SC client run as a subprocess by test_pcsc.py (so PCSCLITE_CSOCK_NAME reaches libpcsclite before it is
loaded): drives the card in "Virtual PCD 00 00" through pyscard with the PSAM from the test's keystore and prints
the results as JSON. Usage: pcsc_client.py KEYSTORE KEK_HEX CITY."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sscard.chip.tlv import simple_tlv
from sscard.kms import KeyManager, KeyStore
from sscard.terminal import PcscReader, Terminal, VirtualReader, WrongPin, list_pcsc_readers


def main() -> None:
    keystore, kek_hex, city = sys.argv[1], sys.argv[2], sys.argv[3]
    km = KeyManager(bytes.fromhex(kek_hex), KeyStore(Path(keystore)))
    result: dict[str, object] = {"readers": list_pcsc_readers()}
    reader = PcscReader("Virtual PCD 00 00")
    result["atr"] = reader.atr().hex().upper()
    term = Terminal(reader, VirtualReader(km.issue_psam(city), name="PSAM"))
    info = term.read_holder()
    result.update(algorithm=term.algorithm, name=info.name, id_number=info.id_number, card_no=info.card_no)
    result["genuine"] = term.internal_authenticate()
    try:
        term.verify_pin("000000")
        result["wrong_pin"] = "accepted"
    except WrongPin as exc:
        result["wrong_pin_tries_left"] = exc.tries_left
    term.verify_pin("123456")
    term.update_binary(8, 0, b"PCSC")
    result["ef08"] = term.read_binary(8, 0, 4).decode()
    term.update_record(6, 1, simple_tlv(0x08, b"11010519491231002X"))
    result["id_after_update"] = term.read_holder().id_number
    reader.close()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
