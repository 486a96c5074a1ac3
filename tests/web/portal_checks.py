"""What a cardholder's page must satisfy in the browser: nothing wider than the phone's screen, no serious or
critical accessibility violation (axe-core, vendored under tests/support/axe), names on one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "support" / "axe" / "axe.min.js"

# Every element's box against the viewport (a px of rounding allowed); the first offenders are reported.
_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const out = [];
  const hidden = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.position === 'absolute' && s.clip !== 'auto') return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const style = getComputedStyle(el);
    if (hidden(el)) continue;  // visually hidden (sr-only, a stacked table's header)
    if (style.position === 'absolute' && r.right <= 0) continue;  // the skip link, parked off screen until focused
    if (r.right > width + 1 || r.left < -1) {
      const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`;
      out.push(`${name} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, offenders: out.slice(0, 10)};
}"""


def assert_fits_width(page: Any) -> None:
    """The page is exactly as wide as the viewport and no element sticks out of it."""
    found = page.evaluate(_OVERFLOW_JS)
    assert found["scroll"] <= found["width"], found
    assert found["offenders"] == [], found


def assert_one_line(page: Any, selector: str) -> None:
    """Each element matched (a name) is one line high: never one character per line."""
    heights = page.evaluate("""(sel) => [...document.querySelectorAll(sel)].map(el => {
        const style = getComputedStyle(el);
        const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.6;
        return [el.getBoundingClientRect().height, line, el.textContent.trim()];
    })""", selector)
    assert heights, selector
    for height, line, text in heights:
        assert height <= line * 1.5, (selector, text, height, line)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations of WCAG 2 A/AA on the page as it is now."""
    # Evaluated through the DevTools protocol, not added as a <script>: the page's CSP allows no inline script.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Any) -> None:
    bad = axe_violations(page)
    assert bad == [], bad
