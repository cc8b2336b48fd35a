"""Helpers for the browser tests: ask in the chat, wait for an answer card, open an answer's sources."""

from __future__ import annotations

ANSWER_TIMEOUT_MS = 90_000


def answered_turns(page) -> int:
    return page.evaluate("document.querySelectorAll('#chatbot .turn:not(.streaming)').length")


def wait_for_turns(page, count: int) -> None:
    """Until the conversation shows ``count`` finished turns (answers or error messages)."""
    page.wait_for_function(
        f"document.querySelectorAll('#chatbot .turn:not(.streaming)').length >= {count}", timeout=ANSWER_TIMEOUT_MS
    )


def ask(page, question: str) -> int:
    """Type a question, click Ask, wait for its answer; returns the new turn's number."""
    before = answered_turns(page)
    page.fill("#question textarea", question)
    page.click("#send")
    wait_for_turns(page, before + 1)
    return before


def turn(page, n: int):
    return page.locator(f'#chatbot .turn[data-turn="{n}"]')


def source_labels(page, n: int) -> list[str]:
    buttons = turn(page, n).locator(".sources .cite")
    return [buttons.nth(i).inner_text() for i in range(buttons.count())]


def open_source(page, n: int, containing: str = "") -> str:
    """Click the first source of turn ``n`` whose label contains ``containing``; returns the panel's text."""
    buttons = turn(page, n).locator(".sources .cite")
    labels = source_labels(page, n)
    index = next(i for i, label in enumerate(labels) if containing in label)
    number = buttons.nth(index).get_attribute("data-n")
    buttons.nth(index).click()
    page.wait_for_selector(f'#clause-view .clause[data-citation="{number}"]', timeout=10_000)
    return page.inner_text("#clause-view")


def expand_full_text(page, n: int) -> str:
    details = turn(page, n).locator("details.answer-full")
    if details.count():
        details.locator("summary").click()
    return turn(page, n).inner_text()


def open_page(browser, url: str, **context_options):
    """A new browser context (1400×1000 unless told) on the app, once the question box is there."""
    context = browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **context_options})
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#question textarea", timeout=60_000)
    return context, page
