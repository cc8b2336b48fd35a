"""The Obligations tab in a real headless Chromium: pick a role and a document, get the checklist, open an item's
clause text, download the CSV."""

from __future__ import annotations

from conftest import AI_ACT  # tests/obligations/conftest.py


def test_obligations_tab_builds_a_checklist_with_clause_text_and_exports(register_server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(register_server.url + "/")
        page.get_by_role("tab", name="Obligations / 义务清单").click()
        page.wait_for_selector("#obligations-build", timeout=60_000)
        page.click("#obligations-role input")
        page.get_by_role("option", name="deployer / user 使用者").click()
        page.click("#obligations-documents input")
        page.get_by_role("option", name=f"({AI_ACT})", exact=False).click()
        page.keyboard.press("Escape")
        page.click("#obligations-build")
        page.wait_for_selector("#obligations-list .obligation-item", timeout=60_000)
        listing = page.inner_text("#obligations-list")
        assert "Article 26" in listing and "Article 16" not in listing
        item = page.locator("#obligations-list .obligation-item").first
        item.locator("summary").click()
        clause = item.locator(".clause-text")
        clause.wait_for(timeout=10_000)
        shown = clause.inner_text()  # the whole article, not only the item's sentence
        assert "Obligations of deployers" in shown and "Deployers shall assign human oversight" in shown
        with page.expect_download(timeout=30_000) as download:
            page.click("#obligations-csv")
        saved = tmp_path / "obligations.csv"
        download.value.save_as(saved)
        content = saved.read_text(encoding="utf-8-sig")
        assert content.startswith("doc_id,unit,locator,actor,actor_norm") and "Article 26" in content
        page.screenshot(path=str(tmp_path / "obligations.png"), full_page=True)
    finally:
        context.close()
