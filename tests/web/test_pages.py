"""The pages without a browser: CSRF, security headers, sessions and lockout, languages, field errors, roles."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from sscard.access import SYSTEM_ACTOR, Role
from sscard.audit import service as audit
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.stats import service as stats
from sscard.web import security
from sscard.web.i18n import LANG_COOKIE, LOCALE_DIR, TEMPLATE_DIR
from sscard.web.receipt_pdf import PdfFontMissing, font_path
from sscard.web.routes_session import safe_next
from support.city import PASSWORD, City
from support.factories import next_id_number
from web.helpers import WebClient, person_path, person_with_card

Clients = Callable[..., WebClient]
CJK = re.compile(r"[\u4e00-\u9fff]")


# ------------------------------------------------------------------------------------------------ CSRF


def test_a_login_without_the_csrf_token_is_refused(clients: Clients) -> None:
    c = clients()
    r = c.http.post("/login", data={"username": "t-counter", "password": PASSWORD})
    assert r.status_code == 403 and "请求被拒绝" in r.text
    assert security.SESSION_COOKIE not in c.http.cookies


def test_a_form_with_another_browsers_token_is_refused(clients: Clients, sqlite_city: City) -> None:
    victim, attacker = clients("t-counter"), clients()
    id_no, card_no = person_with_card(sqlite_city, "normal")
    ref = security.person_ref(id_no)
    r = victim.http.post(f"/counter/cards/{card_no}/temp_loss", data={"csrf_token": attacker.csrf, "ref": ref})
    assert r.status_code == 403
    assert cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "1"
    r = victim.post(f"/counter/cards/{card_no}/temp_loss", {"ref": ref, "confirmed": "yes"})
    assert r.status_code == 200 and cards.get_card(sqlite_city.db, SYSTEM_ACTOR, str(card_no)).app_status == "4"


def test_every_rendered_form_carries_the_csrf_token(clients: Clients, sqlite_city: City) -> None:
    c = clients("t-super")
    id_no, _ = person_with_card(sqlite_city, "locked")
    for path in ("/counter", "/counter/register", person_path(id_no)):
        html = c.http.get(path).text
        posts = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
        assert posts, path
        assert all(f'name="csrf_token" value="{c.csrf}"' in body for body in posts), path


# -------------------------------------------------------------------------------------------- headers


def test_pages_send_the_security_headers_and_no_inline_script(clients: Clients) -> None:
    c = clients("t-admin")
    for path in ("/", "/login", "/counter", "/dashboard"):
        r = c.http.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers  # plain http: no HSTS
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path  # every script is a file
        assert not re.search(r"\son[a-z]+=", r.text), path  # no inline event handlers


def test_hsts_is_sent_only_over_https(clients: Clients) -> None:
    c = clients(base_url="https://testserver")
    assert c.http.get("/login").headers["strict-transport-security"].startswith("max-age=")
    r = c.http.post("/login", data={"csrf_token": c.csrf, "username": "t-counter", "password": PASSWORD},
                    follow_redirects=False)
    assert "secure" in r.headers["set-cookie"].lower()


def test_the_swagger_ui_keeps_working_without_the_strict_policy(clients: Clients) -> None:
    r = clients().http.get("/docs")
    assert r.status_code == 200 and "content-security-policy" not in r.headers


# ------------------------------------------------------------------------------------------- sessions


def test_the_session_cookie_is_signed_httponly_and_strict(clients: Clients) -> None:
    c = clients()
    r = c.http.post("/login", data={"csrf_token": c.csrf, "username": "t-counter", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
    value = c.http.cookies[security.SESSION_COOKIE]
    token, expires, _ = value.split(".")
    c.http.cookies.set(security.SESSION_COOKIE, f"{token}.{int(expires) + 3600}.{'0' * 64}")
    assert c.http.get("/counter", follow_redirects=False).headers["location"].startswith("/login")


def test_an_expired_session_is_refused() -> None:
    value = security.session_value("some-token", 1_000)
    assert security.session_token(value, now=999) == "some-token"
    assert security.session_token(value, now=1_000) is None


def test_logout_ends_the_session_on_the_server(clients: Clients) -> None:
    c = clients("t-counter")
    value = c.http.cookies[security.SESSION_COOKIE]
    assert c.post("/logout", {}).url.path == "/login"
    c.http.cookies.set(security.SESSION_COOKIE, value)  # a copied cookie is dead too: the token is revoked
    assert c.http.get("/counter", follow_redirects=False).status_code == 303


def test_repeated_wrong_passwords_lock_the_account_for_a_while_with_one_message(clients: Clients,
                                                                                 sqlite_city: City) -> None:
    username = f"web-lock-{next_id_number()[-6:]}"
    auth.create_operator(sqlite_city.db, SYSTEM_ACTOR, username, "lock test", Role.COUNTER, PASSWORD, "T01")
    c = clients()
    messages = set()
    for _ in range(5):
        r = c.post("/login", {"username": username, "password": "wrong-password"})
        assert r.status_code == 401 and 'id="password-error"' in r.text and "用户名或密码错误" in r.text
        assert f'value="{username}"' in r.text  # the user name is kept, the password never echoed
        messages.add(r.text.split('id="password-error"')[1][:200])
    r = c.post("/login", {"username": username, "password": PASSWORD})  # locked for a while now
    assert r.status_code == 401 and security.SESSION_COOKIE not in c.http.cookies
    messages.add(r.text.split('id="password-error"')[1][:200])
    assert len(messages) == 1  # locked or wrong: one message, which says both


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "", None])
def test_redirects_after_login_stay_on_this_site(target: str | None) -> None:
    assert safe_next(target) == "/counter"


# ------------------------------------------------------------------------------------------- languages


def test_chinese_is_the_default_and_english_is_switchable(clients: Clients) -> None:
    c = clients("t-counter")
    page = c.http.get("/counter").text
    assert '<html lang="zh-CN">' in page and "柜面业务" in page
    r = c.http.get("/lang/en?next=/counter")
    assert r.url.path == "/counter" and '<html lang="en">' in r.text and "Counter workstation" in r.text
    english = CJK.sub("", r.text.replace("中文", ""))
    assert english == r.text.replace("中文", ""), "a Chinese string in the English page is not translated"
    assert '<html lang="zh-CN">' in c.http.get("/lang/zh_CN?next=/counter").text


def test_the_compiled_catalogue_matches_its_source_and_covers_every_template_string() -> None:
    from babel.messages.extract import extract_from_dir

    po_path = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fh:
        po = read_po(fh)
    with po_path.with_suffix(".mo").open("rb") as fh:
        mo = read_mo(fh)
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}
    web_dir = Path(TEMPLATE_DIR).parent
    extracted = {msg for _, _, msg, _, _ in extract_from_dir(
        str(web_dir), method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}}) if isinstance(msg, str)}
    untranslated = sorted(m for m in extracted if not po.get(m) or not po.get(m).string)  # type: ignore[union-attr]
    assert not untranslated


# ----------------------------------------------------------------------------------------- field errors


def test_registration_errors_appear_next_to_their_field_and_keep_the_input(clients: Clients) -> None:
    c = clients("t-counter")
    id_no = next_id_number(region="441802")
    wrong = id_no[:17] + ("0" if id_no[17] != "0" else "1")
    r = c.post("/counter/register", {"id_number": wrong, "name": "陈犇", "region_code": "441802",
                                     "phone": "12345", "ethnicity": "01"})
    assert r.status_code == 422
    assert re.search(r'id="id_number-error"[^>]*>身份证号码校验位错误<', r.text)
    assert f'value="{wrong}"' in r.text and 'value="陈犇"' in r.text
    r = c.post("/counter/register", {"id_number": id_no, "name": "陈犇", "region_code": "441802",
                                     "phone": "12345", "ethnicity": "01"})
    assert re.search(r'id="phone-error"[^>]*>联系电话格式错误<', r.text) and 'aria-invalid="true"' in r.text
    r = c.post("/counter/register", {"id_number": id_no, "name": "", "region_code": "", "ethnicity": "01"})
    assert 'id="name-error"' in r.text and 'id="region_code-error"' in r.text
    r = c.post("/counter/register", {"id_number": id_no, "name": "陈犇", "region_code": "441802",
                                     "ethnicity": "99"})
    assert 'id="ethnicity-error"' in r.text
    c.http.get("/lang/en")
    r = c.post("/counter/register", {"id_number": wrong, "name": "陈犇", "region_code": "441802"})
    assert "The ID number&#39;s check digit is wrong" in r.text


def test_the_initial_pin_is_refused_next_to_the_pin_field(clients: Clients, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "at_outlet")
    c = clients("t-counter")
    ref = security.person_ref(id_no)
    assert c.post(f"/counter/cards/{card_no}/pickup", {"ref": ref}).status_code == 200
    r = c.post(f"/counter/cards/{card_no}/activate", {"ref": ref, "pin": "123456"})
    assert r.status_code == 422
    assert re.search(rf'id="pin-{card_no}-error"[^>]*>不能使用初始密码 123456<', r.text)
    assert "123456" not in r.text.replace("不能使用初始密码 123456", "")  # a PIN is never echoed back
    r = c.post(f"/counter/cards/{card_no}/activate", {"ref": ref, "pin": "12ab"})
    assert re.search(rf'id="pin-{card_no}-error"[^>]*>密码须为 6 位数字<', r.text)


def test_a_refused_operation_shows_its_reason_on_the_card(clients: Clients, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "normal")
    c = clients("t-counter")
    r = c.post(f"/counter/cards/{card_no}/apply_exchange", {"ref": security.person_ref(id_no), "reason": ""})
    assert r.status_code == 422 and f'id="exchange-reason-{card_no}-error"' in r.text
    r = c.post(f"/counter/cards/{card_no}/lift_loss", {"ref": security.person_ref(id_no)})
    assert r.status_code == 409 and f'id="lift_loss-{card_no}-form-error"' in r.text
    assert "卡当前状态不允许此操作" in r.text


# ------------------------------------------------------------------------------------ roles and results


def test_buttons_follow_the_role_and_direct_posts_are_refused(clients: Clients, sqlite_city: City) -> None:
    id_no, card_no = person_with_card(sqlite_city, "locked")
    ref = security.person_ref(id_no)
    counter, supervisor = clients("t-counter"), clients("t-super")
    assert 'data-action="unlock"' not in counter.http.get(person_path(id_no)).text
    assert 'data-action="unlock"' in supervisor.http.get(person_path(id_no)).text
    for action, data in (("unlock", {}), ("cancel", {"reason": "death"}), ("production", {"to_status": "10"})):
        r = counter.post(f"/counter/cards/{card_no}/{action}", {"ref": ref, **data})
        assert r.status_code == 403 and "无权操作" in r.text, action
    assert counter.http.get("/dashboard").status_code == 403
    r = supervisor.post(f"/counter/cards/{card_no}/unlock", {"ref": ref, "new_pin": "975310"})
    assert r.status_code == 200 and 'data-code="1"' in r.text
    seq = int(re.search(r'id="audit-seq">#(\d+)<', r.text).group(1))  # type: ignore[union-attr]
    record = audit.history(sqlite_city.db, sqlite_city.admin, "card", str(card_no))
    assert any(rec.seq == seq and rec.action == "card.unlock" and rec.operator == "t-super" for rec in record)


def test_search_masks_id_numbers_and_an_id_number_opens_the_person(clients: Clients, sqlite_city: City) -> None:
    id_no, _ = person_with_card(sqlite_city, "none")
    c = clients("t-counter")
    r = c.post("/counter/search", {"q": "测试人"})
    assert id_no[:4] + "**********" + id_no[-4:] in r.text and id_no not in r.text
    partial = c.post("/counter/search", {"q": "测试人"}, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="results"')
    r = c.post("/counter/search", {"q": id_no})
    assert r.url.path == "/counter/person" and id_no in r.text and id_no not in str(r.url)
    r = c.post("/counter/search", {"q": id_no[:17] + "0" if id_no[17] != "0" else id_no[:17] + "1"})
    assert r.status_code == 422 and 'id="q-error"' in r.text


def test_the_receipt_shows_the_fee_and_a_masked_id_number(clients: Clients, sqlite_city: City) -> None:
    id_no, _ = person_with_card(sqlite_city, "none")
    c = clients("t-counter")
    r = c.post("/counter/apply", {"ref": security.person_ref(id_no), "source": "personal"})
    receipt_path = re.search(r'href="(/counter/receipt/\d+)"', r.text).group(1)  # type: ignore[union-attr]
    receipt = c.http.get(receipt_path).text
    assert re.search(r'id="receipt-no"[^>]*>R\d{18}<', receipt) and "¥0.00" in receipt
    assert id_no not in receipt and id_no[-4:] in receipt
    receipt_no = re.search(r'id="receipt-no"[^>]*>(R\d{18})<', receipt).group(1)  # type: ignore[union-attr]
    pdf = c.http.get(receipt_path + "/pdf")
    try:
        font_path()
    except PdfFontMissing:
        assert pdf.status_code == 503  # the HTML print view stays the way to print
    else:
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
        assert receipt_no in pdf.headers["content-disposition"]
    r = c.post("/counter/apply", {"ref": security.person_ref(id_no), "source": "employer", "employer_uscc": ""})
    assert r.status_code == 422


def test_the_dashboard_csv_holds_the_figures_of_the_statistics(clients: Clients, sqlite_city: City) -> None:
    person_with_card(sqlite_city, "normal")
    r = clients("t-admin").http.get("/dashboard.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    overview = stats.overview(sqlite_city.db)
    by_status = {row["label"]: int(row["value"]) for row in rows if row["table"] == "app_status"}
    assert by_status["正常"] == overview.by_app_status.get("1", 0)
    persons = sum(int(row["value"]) for row in rows if row["table"] == "division" and row["column"] == "人数")
    assert persons == overview.persons


# ------------------------------------------------------------------------------------------------ not found


def test_a_browsers_unknown_address_is_a_page_in_its_language_and_the_api_keeps_json(clients: Clients) -> None:
    c = clients()
    html = {"Accept": "text/html,application/xhtml+xml"}
    page = c.http.get("/counter/no-such-page", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and '"error"' not in page.text and 'href="/"' in page.text
    c.http.cookies.set(LANG_COOKIE, "en")  # the language the browser chose on the pages
    english = c.http.get("/no-such-page", headers=html)
    assert english.status_code == 404 and "Page not found" in english.text
    api = c.http.get("/api/v1/no-such-route", headers=html)  # under /api: JSON even for a browser
    assert api.status_code == 404 and api.json()["error"]["code"] == "NOT_FOUND"
    script = c.http.get("/no-such-page", headers={"Accept": "application/json"})
    assert script.status_code == 404 and script.json()["error"]["code"] == "NOT_FOUND"
