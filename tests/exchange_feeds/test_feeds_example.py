"""docs/examples/exchange-feeds works exactly as shipped: each plaintext sealed under the demo key with the
documented IV is byte for byte its .feed (by sscard and by the department's stand-alone feed_envelope.py), the
demo keys are the documented ones, and the shipped files import with the outcomes docs/exchange-feeds.md gives;
the answer written to the out spool opens with the stand-alone script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sscard.cards import service as cards
from sscard.exchange.feeds import formats
from sscard.exchange.feeds import service as feeds
from sscard.exchange.feeds import spool as spools
from sscard.kms.partners import PartnerKeys, demo_key
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "exchange-feeds"
SAMPLES = [("psb-daily-changes", "dept:PSB"), ("civil-cremations", "dept:CIVIL"), ("edu-student-roll", "dept:EDU")]
IV = bytes(range(16))
RING = PartnerKeys.demo_ring()
SCRIPT = EXAMPLES / "feed_envelope.py"
# The register the examples expect (docs/exchange-feeds.md "Worked example").
PERSONS = [("441802194503120010", "王建国"), ("441802196001010021", "李明"), ("441881198808080033", "陈小红"),
           ("441802197505050064", "赵大力")]


@pytest.mark.parametrize(("name", "partner"), SAMPLES)
def test_each_shipped_plaintext_seals_to_its_shipped_envelope(name: str, partner: str) -> None:
    plain, shipped = (EXAMPLES / f"{name}.txt").read_bytes(), (EXAMPLES / f"{name}.feed").read_bytes()
    assert formats.seal(plain, RING, iv=IV) == shipped
    by_script = subprocess.run([sys.executable, str(SCRIPT), "seal", str(EXAMPLES / f"{name}.txt"),
                                demo_key(partner).hex(), "1", IV.hex()], capture_output=True, check=True)
    assert by_script.stdout == shipped
    env, feed = formats.read_file(shipped, partner, RING)
    assert (env.partner, env.seq, feed.header.count) == (partner, 1, len(feed.lines))


def test_the_documented_demo_keys() -> None:
    doc = (EXAMPLES.parents[1] / "exchange-feeds.md").read_text("utf-8")
    for _name, partner in SAMPLES:
        version, enc = RING.encryption_key(partner)
        assert version == 1
        assert f"| `{partner}` | `{demo_key(partner).hex()}` | `{enc.hex()}` |" in doc


def test_the_shipped_files_import_as_documented(fresh_city: City, tmp_path: Path) -> None:
    city = fresh_city
    ids = {n: registry.register(city.db, city.admin, PersonIn(id_number=n, name=name, region_code=n[:6])).id
           for n, name in PERSONS}
    card = cards.apply_new(city.db, city.admin, "441802194503120010").card.card_no
    outs = {}
    for name, partner in SAMPLES:
        spool = spools.Spool.under(partner, tmp_path)
        spool.make()
        (spool.inbox / f"{name}.feed").write_bytes((EXAMPLES / f"{name}.feed").read_bytes())
        outs[partner] = spools.run(city.db, city.admin, spool, RING)
    assert [(i.applied, i.skipped, i.exceptions) for i in outs["dept:PSB"].imported] == [(4, 0, 0)]
    assert [(i.applied, i.skipped, i.exceptions) for i in outs["dept:CIVIL"].imported] == [(1, 0, 0)]
    assert [(i.applied, i.skipped, i.exceptions) for i in outs["dept:EDU"].imported] == [(1, 0, 0)]
    assert registry.get(city.db, city.admin, "441802194503120010").living_status == "2"
    assert cards.get_card(city.db, city.admin, card).cancel_reason == "death"
    assert registry.get(city.db, city.admin, "441802196001010048").id == ids["441802196001010021"]
    assert registry.get(city.db, city.admin, "441881198808080033").name == "陈晓红"
    assert feeds.guardians(city.db, city.supervisor,
                           registry.get(city.db, city.admin, "441802201509010026").id)[0].guardian_name == "王大伟"

    answer = spools.Spool.under("dept:PSB", tmp_path).outbox / "PSB-20261202-01.1.imported.answer"
    opened = subprocess.run([sys.executable, str(SCRIPT), "open", str(answer), demo_key("dept:PSB").hex()],
                            capture_output=True, check=True).stdout
    rows = opened.decode("ascii").split("\n")
    assert rows[0].startswith("H|FEEDA1|dept:PSB|PSB-20261202-01|1|imported||4|")
    assert rows[1:5] == ["R|1|applied|DECEASED", "R|2|applied|ID_CORRECTED", "R|3|applied|NAME_CHANGED",
                         "R|4|applied|MOVED_OUT"]
