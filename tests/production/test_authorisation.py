"""Every state-changing production route refuses callers without a token and roles without the permission and
changes nothing when it refuses; the permitted role succeeds on the same request (so the refusal is about the
role). Mirrors tests/api/test_authorisation.py, with file uploads, on a city of its own (batches touch all cards).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.kms import KeyManager
from sscard.production import batches
from sscard.production import service as production
from sscard.production.simulators import AccountOpeningBank, SimulatedMaker
from support.city import PASSWORD, City

from .builders import collection_csv, people, population_csv, write_photos


@dataclass
class Target:
    path: str
    json: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def _fingerprint(city: City) -> dict[str, int]:
    with city.db.engine.connect() as conn:
        tables = sorted(t for t in sa.inspect(conn).get_table_names() if t != "alembic_version")
        counts = {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}
        counts["stages"] = hash(tuple(conn.execute(sa.text(
            "SELECT batch_no, stage FROM production_batches ORDER BY id")).all()))
        counts["statuses"] = hash(tuple(conn.execute(sa.text(
            "SELECT status FROM comparison_exceptions ORDER BY id")).all()))
        return counts


def test_production_routes_refuse_without_token_or_permission(fresh_city: City, new_id: Callable[..., str],
                                                              km: KeyManager, tmp_path: Path) -> None:
    city = fresh_city
    app = create_app(city.db)
    app.state.key_manager = km
    client = TestClient(app, raise_server_exceptions=False)
    heads = {u: {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={
        "username": u, "password": PASSWORD}).json()["access_token"]} for u in ("t-counter", "t-super", "t-admin")}
    bank, maker = AccountOpeningBank(), SimulatedMaker(km, tmp_path / "cards")

    def imported(with_photo: bool) -> int:
        crowd = people(new_id, 1, region="441882")
        if with_photo:
            write_photos(crowd, tmp_path / "photos")
        production.import_population(city.db, city.admin, population_csv(crowd))
        return production.import_collection(city.db, city.admin, collection_csv(crowd),
                                            photo_root=tmp_path / "photos").import_id

    def exception_id() -> int:
        import_id = imported(with_photo=False)
        production.run_comparison(city.db, city.admin, import_id)
        return production.list_exceptions(city.db, city.admin, import_id=import_id)[0].id

    def batch(stage: str) -> str:
        production.run_comparison(city.db, city.admin, imported(with_photo=True))
        made = batches.create_batches(city.db, city.admin)[0].batch_no
        if stage == "created":
            return made
        kr = bank.answer(batches.export_bank_file(city.db, city.admin, made))
        if stage == "bank_sent":
            return kr.decode("gb18030")
        batches.import_bank_return(city.db, city.admin, kr)
        if stage == "bank_returned":
            return made
        zr = maker.answer(batches.export_maker_file(city.db, city.admin, made, km.issue_psam("441800")))
        if stage == "maker_sent":
            return zr.decode("gb18030")
        batches.import_maker_return(city.db, city.admin, zr)
        return made

    def csv_file(kind: str) -> dict[str, tuple[str, bytes]]:
        crowd = people(new_id, 1, region="441882")
        body = population_csv(crowd) if kind == "population" else collection_csv(crowd)
        return {"file": (f"{kind}.csv", body)}

    # route → (role allowed, role refused, target builder)
    routes: dict[str, tuple[str, str, Callable[[], Target]]] = {
        "imports/collection": ("t-admin", "t-super", lambda: Target("/api/v1/production/imports/collection",
                                                                  files=csv_file("collection"))),
        "imports/population": ("t-admin", "t-super", lambda: Target("/api/v1/production/imports/population",
                                                                  files=csv_file("population"))),
        "comparisons": ("t-admin", "t-super", lambda: Target(
            f"/api/v1/production/comparisons?import_id={imported(with_photo=True)}")),
        "resolve": ("t-super", "t-counter", lambda: Target(
            f"/api/v1/production/exceptions/{exception_id()}/resolve", json={"resolution": "send_back"})),
        "batches": ("t-admin", "t-super", lambda: (production.run_comparison(
            city.db, city.admin, imported(with_photo=True)), Target("/api/v1/production/batches", json={}))[1]),
        "bank-file": ("t-admin", "t-super", lambda: Target(f"/api/v1/production/batches/{batch('created')}/bank-file")),
        "bank-returns": ("t-admin", "t-super", lambda: Target("/api/v1/production/bank-returns", files={
            "file": ("kr.txt", batch("bank_sent").encode("gb18030"))})),
        "maker-file": ("t-admin", "t-super", lambda: Target(
            f"/api/v1/production/batches/{batch('bank_returned')}/maker-file")),
        "maker-returns": ("t-admin", "t-super", lambda: Target("/api/v1/production/maker-returns", files={
            "file": ("zr.txt", batch("maker_sent").encode("gb18030"))})),
        "hand-over": ("t-admin", "t-super", lambda: Target(
            f"/api/v1/production/batches/{batch('maker_returned')}/hand-over", json={"outlet_code": "T01"})),
    }
    spec = client.get("/openapi.json").json()["paths"]
    mine = {p for p, ops in spec.items() if p.startswith("/api/v1/production/") and "post" in ops}
    assert len(mine) == len(routes)

    for name, (allowed, refused, build) in routes.items():
        target = build()
        for headers, status in (({}, 401), ({"Authorization": "Bearer forged"}, 401), (heads[refused], 403)):
            before = _fingerprint(city)
            r = client.post(target.path, json=target.json, files=target.files or None, headers=headers)
            assert r.status_code == status, (name, r.text)
            assert _fingerprint(city) == before, name
        before = _fingerprint(city)
        r = client.post(target.path, json=target.json, files=target.files or None, headers=heads[allowed])
        assert 200 <= r.status_code < 300, (name, r.text)
        assert _fingerprint(city) != before, name
