"""The knowledge-base pages and the answers form in a real browser (Playwright driving Debian's
Chromium against the server on 127.0.0.1): links between the pages, the inline SVG timeline, no
console error and no request leaving the server."""

from __future__ import annotations

from tests.web.test_browser import page, server  # noqa: F401  (the fixtures)


def test_kb_pages_link_to_each_other(page, server):  # noqa: F811
    page.goto(server + "/kb?lang=en")
    page.fill("#q", "cloud-act")
    page.click("form[action='/kb'] button")
    page.click("a[href='/kb/us-cloud-act']")
    assert "CLOUD Act" in page.locator("h1").inner_text()
    assert page.locator("#effect").inner_text() == "compels access"
    page.click("#reached-services a[href='/kb/exchange-online']")
    assert page.locator("h1").inner_text() == "Exchange Online (Microsoft 365)"
    assert "mail.protection.outlook.com" in page.locator("#fingerprints").inner_text()
    page.click("#chain a[href='/kb/microsoft']")
    assert page.locator("h1").inner_text() == "Microsoft Corporation"
    page.goto(server + "/kb/skype")
    chart = page.locator("#timeline svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100  # drawn, not blocked by the CSP
    assert chart.locator("g.bar").count() == 3 + 4  # eBay, Silver Lake, Microsoft in control; four holdings
    assert "Silver Lake" in (chart.text_content() or "")
    page.click("#lang-fr")
    page.wait_for_selector("html[lang=fr]")
    assert "Contrôle ultime" in (page.locator("#timeline svg").text_content() or "")
    assert page.problems == []


def test_answers_form_in_the_browser(page, server):  # noqa: F811
    page.goto(server + "/assess/answers?lang=en")
    page.fill("#name", "Tender Cloud")
    page.select_option("#category", "saas")
    page.fill("#provider", "ovhcloud")
    page.fill("#source_url", "https://example.org/tender.pdf")
    page.fill("#source_title", "Tender response")
    page.select_option("[id='option.SOV-2.1']", index=1)
    page.click("#assess")
    page.wait_for_selector("#headline")
    headline = page.locator("#headline").inner_text()
    assert "Tender Cloud: estimate SEAL-" in headline and "evidenced floor" in headline
    page.frame_locator("iframe.report").locator(":is(td, th):has-text(\"SOV-2\")").first.wait_for(timeout=10_000)
    assert page.problems == []
