"""Every page form carries the page's CSRF token: a template that takes the form macros from ``_forms.html`` must
import them *with context* — without it Jinja2 renders ``csrf()`` with an empty token, and a real browser's submit
is refused while tests that post a token they read elsewhere still pass (found on the treasury, employment and
exchange pages)."""

from __future__ import annotations

import re

from sscard.web.i18n import TEMPLATE_DIR, environment

IMPORT = re.compile(r"{%-?\s*(?:from\s+\"_forms\.html\"\s+import|import\s+\"_forms\.html\")[^%]*%}")


def test_every_import_of_the_form_macros_takes_the_page_context() -> None:
    imports = {path.name: IMPORT.findall(path.read_text(encoding="utf-8"))
               for path in sorted(TEMPLATE_DIR.rglob("*.html"))}
    assert sum(len(found) for found in imports.values()) > 10  # the pattern does find the imports
    missing = {name: found for name, found in imports.items() for tag in found if "with context" not in tag}
    assert missing == {}


def test_a_form_rendered_from_an_imported_macro_carries_the_token() -> None:
    page = environment("zh_CN").from_string('{% from "_forms.html" import csrf with context %}{{ csrf() }}')
    html = page.render(csrf_field="csrf_token", csrf_token="t0k3n-of-this-page")
    assert 'name="csrf_token" value="t0k3n-of-this-page"' in html
