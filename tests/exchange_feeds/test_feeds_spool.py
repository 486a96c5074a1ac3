"""The spool: each bad file refused whole with its code (moved to rejected/ with a reason file, a refusal answer
written, nothing applied); and the importer killed with SIGKILL mid-file or between the commit and the move
(``sscard exchange-feeds import`` as a subprocess) leaves nothing or the whole file, and the next run finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from feeds_world import RING, drop, lines, sealed

from sscard.exchange.feeds import formats
from sscard.exchange.feeds import service as feeds
from sscard.exchange.feeds import spool as spools
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number

SSCARD = str(Path(sys.executable).parent / "sscard")


def _person(city: City, name: str) -> tuple[int, str]:
    number = next_id_number()
    return registry.register(city.db, city.admin, PersonIn(id_number=number, name=name,
                                                           region_code="441802")).id, number


def _alive(city: City, person_id: int) -> bool:
    return registry.get_by_person_id(city.db, city.admin, person_id).living_status == "1"


def test_each_bad_file_is_refused_whole_with_its_code(feeds_city: City, tmp_path: Path) -> None:
    city = feeds_city
    spool = spools.Spool.under("dept:PSB", tmp_path / "spool")
    pid, number = _person(city, "李四")
    death = lines(("DEATH", number, "李四", "20260105"))
    first = sealed("dept:PSB", 1, lines(("MOVE", number, "李四", "20260101", "440106")))
    drop(spool.inbox, "a-first.feed", first)
    assert [i.seq for i in spools.run(city.db, city.admin, spool, RING).imported] == [1]

    flipped = bytearray(sealed("dept:PSB", 2, death))
    at = flipped.index(b"|", 60) + 5  # inside the ciphertext: another Base64 character, the MAC no longer fits
    flipped[at] = ord("A") if flipped[at] != ord("A") else ord("B")
    bad = {
        "b-resent.feed": first,  # re-sent (the same content)
        "c-same-id.feed": sealed("dept:PSB", 2, death, file_id="PSB-PSCHG-0001"),  # re-sent under its file id
        "d-gap.feed": sealed("dept:PSB", 4, death),  # out of order: 2 is next
        "e-civil.feed": sealed("dept:CIVIL", 2, lines(("CREM", number, "李四", "20260105", "20260106"))),
        "f-cut.feed": sealed("dept:PSB", 2, death)[:-30],
        "g-mac.feed": bytes(flipped),
        "h-junk.feed": b"not a feed at all\n",
    }
    for name, data in bad.items():
        drop(spool.inbox, name, data)
    out = spools.run(city.db, city.admin, spool, RING)
    assert out.imported == []
    codes = {r.filename: r.code for r in out.rejected}
    assert codes == {"b-resent.feed": "EXCHANGE_FEED_DUPLICATE", "c-same-id.feed": "EXCHANGE_FEED_DUPLICATE",
                     "d-gap.feed": "EXCHANGE_FEED_OUT_OF_ORDER", "e-civil.feed": "EXCHANGE_FEED_WRONG_PARTNER",
                     "f-cut.feed": "EXCHANGE_FEED_TRUNCATED", "g-mac.feed": "EXCHANGE_FEED_MAC",
                     "h-junk.feed": "EXCHANGE_FEED_MALFORMED"}
    assert _alive(city, pid)  # nothing of any of them applied
    assert list(spool.inbox.iterdir()) == []
    for name, code in codes.items():
        reason = json.loads((spool.rejected / f"{name}.reason.json").read_text("utf-8"))
        assert reason["code"] == code and (spool.rejected / name).read_bytes() == bad[name]
    answers = [formats.open_envelope(p.read_bytes(), "dept:PSB", RING)[1] for p in spool.outbox.iterdir()
               if ".rejected." in p.name]
    assert sorted(a.split(b"\n")[0].split(b"|")[6].decode() for a in answers) == sorted(codes.values())
    assert {r.code for r in feeds.files(city.db, city.supervisor, "dept:PSB", "rejected")} == set(codes.values())

    # The next in sequence still goes in.
    drop(spool.inbox, "i-next.feed", sealed("dept:PSB", 2, death))
    assert [(i.seq, i.applied) for i in spools.run(city.db, city.admin, spool, RING).imported] == [(2, 1)]
    assert not _alive(city, pid)


def _cli(city: City, root: Path, crash: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false", "COLUMNS": "250",
           "SSCARD_PARTNER_KEYSTORE": str(root / "no-keys.json")}
    env.pop(spools.CRASH_ENV, None)
    if crash:
        env[spools.CRASH_ENV] = crash
    return subprocess.run([SSCARD, "exchange-feeds", "import", "--partner", "dept:PSB", "--spool", str(root),
                           "--json", "--operator", "t-admin"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("point", ["mid_file", "before_commit", "after_commit"])
def test_a_kill_during_the_import_leaves_nothing_or_the_whole_file(feeds_city: City, tmp_path: Path,
                                                                  point: str) -> None:
    city = feeds_city
    people = [_person(city, f"测试{i}") for i in range(6)]
    spool = spools.Spool.under("dept:PSB", tmp_path)
    drop(spool.inbox, "f1.feed", sealed("dept:PSB", 1, lines(*(("DEATH", n, f"测试{i}", "20260105")
                                                               for i, (_, n) in enumerate(people[:4])))))
    drop(spool.inbox, "f2.feed", sealed("dept:PSB", 2, lines(*(("DEATH", n, f"测试{i + 4}", "20260105")
                                                               for i, (_, n) in enumerate(people[4:])))))

    killed = _cli(city, tmp_path, point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stdout, killed.stderr)
    dead_after_kill = [not _alive(city, p) for p, _ in people]
    if point == "after_commit":  # the first file committed whole, nothing of the second
        assert dead_after_kill == [True] * 4 + [False] * 2
        assert sorted(p.name for p in spool.inbox.iterdir()) == ["f1.feed", "f2.feed"]
    else:
        assert dead_after_kill == [False] * 6
        assert feeds.files(city.db, city.supervisor, "dept:PSB") == []

    again = _cli(city, tmp_path, None)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert [i["seq"] for i in result["imported"]] == ([2] if point == "after_commit" else [1, 2])
    assert result["finished_after_crash"] == (1 if point == "after_commit" else 0)
    assert [not _alive(city, p) for p, _ in people] == [True] * 6
    imported = feeds.files(city.db, city.supervisor, "dept:PSB", "imported")
    assert sorted((f.seq, f.applied, f.finished) for f in imported) == [(1, 4, True), (2, 2, True)]
    assert list(spool.inbox.iterdir()) == []
    assert sorted(p.name for p in spool.done.iterdir()) == ["f1.feed", "f2.feed"]
    assert sorted(p.name for p in spool.outbox.iterdir()) == ["PSB-PSCHG-0001.1.imported.answer",
                                                            "PSB-PSCHG-0002.2.imported.answer"]
