"""A transfer in progress as the holder sees it in the portal (``/portal/transfers``, linked from the portal
page) and as counter staff see it (``/counter/transfers``), in Chinese, identifiers masked; another holder sees
none of it. On both databases."""

from __future__ import annotations

import re

from sscard.kms.partners import PartnerKeys
from sscard.transfer import service
from sscard.transfer.config import TransferSettings
from support.city import City
from support.loopback import free_port
from web.helpers import web_client
from web.portal_helpers import holder, insured_holder, portal_client


def _issued(city: City, person_id: int) -> str:
    exchange = service.Exchange(TransferSettings(city="441800", partners={"440100": f"http://127.0.0.1:{free_port()}"}),
                                ring=PartnerKeys.demo_ring())
    case, _ = service.issue_voucher(city.db, city.counter, person_id, "440100", exchange)
    return case.voucher_no


def _visible_text(html: str) -> str:
    body = html.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


def test_the_holder_and_the_counter_see_a_transfer_in_progress(city: City) -> None:
    who = insured_holder(city, settle=False)
    assert who.person_id is not None
    voucher_no = _issued(city, who.person_id)

    http, _ = portal_client(city, who.id_number)
    assert 'href="/portal/transfers"' in http.get("/portal").text
    page = http.get("/portal/transfers").text
    assert f'id="transfer-{voucher_no}"' in page and 'data-status="issued"' in page
    assert "已开具参保缴费凭证" in page and "办理中" in page and "转出（转往外地）" in page
    assert who.id_number not in page
    words = [w for w in re.findall(r"[A-Za-z]{4,}", _visible_text(page)) if w not in (voucher_no,)]
    assert words == [], words  # no English and no codes on the Chinese page

    other = holder(city)
    http2, _ = portal_client(city, other.id_number)
    assert voucher_no not in http2.get("/portal/transfers").text

    counter = web_client(city, "t-counter")
    assert 'href="/counter/transfers"' in counter.http.get("/counter").text
    listed = counter.http.get("/counter/transfers").text
    assert voucher_no in listed and "已开具参保缴费凭证" in listed and who.id_number not in listed
    assert [w for w in re.findall(r"[A-Za-z]{4,}", _visible_text(listed)) if w != voucher_no] == []
    # not logged in: no list
    assert voucher_no not in web_client(city).http.get("/counter/transfers").text
