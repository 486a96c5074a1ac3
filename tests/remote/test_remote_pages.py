"""异地就医备案 at the counter (``/counter/remote``, a person found by ID number) and in the portal
(``/portal/remote``, the holder's own), in Chinese with identifiers masked, and the dashboard's cross-region
figures (``/dashboard/remote``). In-process, on both databases; no hub is configured, so a registration is kept
undistributed ("尚未") for the nightly job to send."""

from __future__ import annotations

import datetime as dt

from sscard import clock
from support.city import City
from web.helpers import csrf_of, web_client
from web.portal_helpers import insured_holder, portal_client


def test_counter_and_portal_file_a_registration_and_the_dashboard_shows_the_figures(city: City) -> None:
    who = insured_holder(city, settle=False)
    today = clock.local_date()
    counter = web_client(city, "t-counter")
    assert "异地就医备案" in counter.http.get("/counter/remote").text
    done = counter.post("/counter/remote", {"id_number": who.id_number, "kind": "referral",
                                            "treating_region": "440200", "starts_on": today.isoformat(),
                                            "ends_on": (today + dt.timedelta(days=30)).isoformat(),
                                            "documents": "转诊证明,病历"})
    assert done.status_code == 200, done.text
    assert 'id="remote-done"' in done.text and "异地转诊" in done.text and "尚未" in done.text
    assert who.id_number not in done.text
    refused = counter.post("/counter/remote", {"id_number": who.id_number, "kind": "temporary",
                                               "treating_region": "440200", "starts_on": today.isoformat()})
    assert refused.status_code == 422 and 'id="remote-error"' in refused.text  # 临时外出就医 needs an end date

    http, _ = portal_client(city, who.id_number)
    page = http.get("/portal/remote")
    assert page.status_code == 200 and "我的异地就医备案" in page.text and "异地转诊" in page.text
    filed = http.post("/portal/remote", data={"csrf_token": csrf_of(page.text), "kind": "long_term_resident",
                                              "treating_region": "440200", "starts_on": today.isoformat()})
    assert filed.status_code == 200 and "异地长期居住" in filed.text and 'id="remote-done"' in filed.text
    assert filed.text.count('class="registration"') == 2
    # the treating city is chosen by name, never this centre's own; the list names it too
    assert '<option value="440200">韶关市 (440200)</option>' in page.text and 'value="441800"' not in page.text
    assert 'title="440200">韶关市</td>' in filed.text

    # the holder cancels one: a confirmation first, nothing changed until confirmed
    reg_no = filed.text.split('id="remote-done"')[1].split('<span class="mono">')[1].split("</span>")[0]
    asked = http.post(f"/portal/remote/{reg_no}/cancel", data={"csrf_token": csrf_of(filed.text)})
    assert asked.status_code == 200 and 'id="remote-confirm"' in asked.text and "撤销这项备案？" in asked.text
    assert asked.text.count('data-status="active"') == 2
    gone = http.post(f"/portal/remote/{reg_no}/cancel", data={"csrf_token": csrf_of(asked.text), "confirmed": "yes"})
    assert gone.status_code == 200 and 'id="remote-cancelled"' in gone.text and "备案已撤销" in gone.text
    assert f'data-status="cancelled" data-reg="{reg_no}"' in gone.text and 'id="remote-confirm"' not in gone.text
    again = http.post(f"/portal/remote/{reg_no}/cancel", data={"csrf_token": csrf_of(gone.text), "confirmed": "yes"},
                      follow_redirects=False)
    assert again.status_code == 303  # nothing left to cancel

    # the counter cancels the other (the referral) for the person
    referral = done.text.split('id="remote-done"')[1].split('<span class="mono">')[1].split("</span>")[0]
    asked = counter.post(f"/counter/remote/{referral}/cancel", {})
    assert asked.status_code == 200 and 'id="remote-confirm"' in asked.text and "异地转诊" in asked.text
    assert who.id_number not in asked.text
    gone = counter.post(f"/counter/remote/{referral}/cancel", {"confirmed": "yes"})
    assert gone.status_code == 200 and 'id="remote-cancelled"' in gone.text
    assert gone.text.count('data-status="cancelled"') == 2
    assert counter.post("/counter/remote/GX-NO-SUCH/cancel", {"confirmed": "yes"}).status_code == 404

    dashboard = web_client(city, "t-super").http.get("/dashboard/remote")
    assert dashboard.status_code == 200 and 'id="remote-figures"' in dashboard.text and "清算头寸" in dashboard.text
    assert web_client(city).http.get("/counter/remote").status_code in (200, 303, 401)
    assert 'id="remote-form"' not in web_client(city).http.get("/counter/remote").text
