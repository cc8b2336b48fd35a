"""The chat commands (words from assistant/resources/chat_commands.tsv) and the conversation memory's bounds."""

from __future__ import annotations

import threading

import pytest

from assistant.channels.conversations import ConversationStore, checklist_reply, find_checklist, parse_command


@pytest.mark.parametrize("text", ["新话题", "新话题。", " New topic! ", "/reset", "RESET", "start over", "清空对话"])
def test_reset_words(text):
    assert parse_command(text).kind == "reset"


@pytest.mark.parametrize("text", ["新话题是什么意思？", "reset the model after an incident?", "what is a new topic"])
def test_reset_words_inside_a_question_are_a_question(text):
    command = parse_command(text)
    assert command.kind == "question" and command.text == text.strip()


@pytest.mark.parametrize(
    "text,role,doc",
    [
        ("义务清单 提供者 标识办法", "提供者", "标识办法"),
        ("义务清单 标识办法 服务提供者", "服务提供者", "标识办法"),  # the longer role word, in any position
        ("义务清单提供者《人工智能生成合成内容标识办法》", "提供者", "《人工智能生成合成内容标识办法》"),
        ("obligations deployer AI Act", "deployer", "AI Act"),
        ("Obligations: deployers, EU AI Act", "deployers", "EU AI Act"),
        ("/obligations provider importer AI Act", "provider importer", "AI Act"),
        ("obligations checklist provider AI Act", "provider", "AI Act"),
        ("义务清单 提供者", "提供者", ""),
        ("义务清单 深度合成规定", "", "深度合成规定"),
        ("义务清单", "", ""),
    ],
)
def test_obligations_command_is_split_into_role_and_document_words(text, role, doc):
    command = parse_command(text)
    assert (command.kind, command.role_text, command.doc_text) == ("obligations", role, doc)


@pytest.mark.parametrize(
    "text",
    [
        "obligations of providers under the AI Act?",
        "Obligations for users?",
        "What are the obligations of deployers under the AI Act?",
    ],
)
def test_a_question_about_obligations_stays_a_question(text):
    assert parse_command(text).kind == "question"


def test_the_checklist_hook_is_called_with_the_parsed_words_or_reports_that_it_is_missing(monkeypatch):
    from assistant.channels import conversations

    calls = []

    def hook(service, role, doc, language):
        calls.append((service, role, doc, language))
        return "checklist"

    command = parse_command("obligations deployer AI Act")
    assert checklist_reply(lambda: "service", command, "en", hook) == "checklist"
    assert calls == [("service", "deployer", "AI Act", "en")]
    assert "Usage" in checklist_reply(lambda: "service", parse_command("/obligations"), "en", hook)

    monkeypatch.setattr(conversations, "CHECKLIST_MODULE", "assistant.no_such_obligations_module")
    assert find_checklist() is None
    assert "not available" in checklist_reply(lambda: "service", command, "en")


# ---- memory ------------------------------------------------------------------------------------------------------------
def test_memory_keeps_the_most_recent_turns_within_the_limits():
    store = ConversationStore(max_turns=4, max_chars=1000, idle_s=60)
    for i in range(5):
        store.add("t", f"question {i}", f"answer {i}")
    assert [t["content"] for t in store.history("t")] == ["question 3", "answer 3", "question 4", "answer 4"]
    chars = ConversationStore(max_turns=20, max_chars=25, idle_s=60)
    chars.add("t", "q" * 10, "a" * 10)
    chars.add("t", "q" * 5, "a" * 5)
    assert [t["content"] for t in chars.history("t")] == ["q" * 5, "a" * 5]  # 30 characters would not fit
    assert store.history("other") == []


def test_memory_expires_and_is_bounded_in_conversations():
    now = [0.0]
    store = ConversationStore(max_turns=20, max_chars=1000, idle_s=10, max_conversations=2, clock=lambda: now[0])
    store.add("a", "qa", "aa")
    now[0] = 5
    store.add("b", "qb", "ab")
    now[0] = 11  # "a" idle for 11 s
    assert store.history("a") == [] and len(store.history("b")) == 2
    store.add("c", "qc", "ac")
    store.add("d", "qd", "ad")  # a third conversation: the least recently used ("b") goes
    assert len(store) == 2 and store.history("b") == []
    store.fork("c", "c-thread")
    store.add("c", "qc2", "ac2")
    assert [t["content"] for t in store.history("c-thread")] == ["qc", "ac"]  # a copy, not shared
    assert store.reset("c") is True and store.reset("c") is False and store.history("c") == []


def test_memory_is_thread_safe():
    store = ConversationStore(max_turns=10_000, max_chars=10**7, idle_s=60)

    def talk(n: int) -> None:
        for i in range(200):
            store.add(f"k{n % 4}", f"q{n}-{i}", f"a{n}-{i}")
            store.history(f"k{n % 4}")

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(store.history(f"k{k}")) for k in range(4)) == 8 * 200 * 2  # no turn lost
