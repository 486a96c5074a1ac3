"""Coverage-guided fuzzing of VirtualCard.transmit with atheris (libFuzzer); run by test_atheris.py as a
subprocess: ``python fuzz_atheris.py -runs=N``. Fails (non-zero exit) if an APDU raises or the answer does
not end in a valid status word."""

from __future__ import annotations

import os
import sys

import atheris

with atheris.instrument_imports():
    from sscard.chip import VirtualCard, personalise
    from sscard.chip.builders import SELECT_SSSE
    from sscard.chip.image import from_dict, to_dict
    from sscard.chip.samples import sample_holder
    from sscard.kms import KeyManager

_KM = KeyManager(os.urandom(32))
_KM.init_ministry()
_KM.provision_city("440300")
_IMAGES = [to_dict(personalise(h, _KM.card_keys(h))) for h in (sample_holder(2), sample_holder(3))]


def _valid(rapdu: bytes) -> bool:
    if len(rapdu) < 2:
        return False
    sw = int.from_bytes(rapdu[-2:], "big")
    return sw != 0x6F00 and (sw == 0x9000 or sw >> 12 == 6)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    card: VirtualCard = from_dict(_IMAGES[fdp.ConsumeIntInRange(0, 1)])
    if fdp.ConsumeBool():
        card.transmit(SELECT_SSSE)
    for _ in range(fdp.ConsumeIntInRange(1, 6)):
        apdu = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80))
        rapdu = card.transmit(apdu)
        if not _valid(rapdu):
            raise AssertionError(f"{apdu.hex()} -> {rapdu.hex()}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
