"""Answering a question: the stages after retrieval, one module each.

``service.AnswerService`` is the entry point (``answer``, ``stream``) and only wires the stages:
``models`` (the question checks, ``Answer``, ``Citation``) → retrieval and the answerability decision
(``assistant.retrieval``, ``assistant.answering.guard``) → ``compose`` (the extractive answer, the refusal, notices; with
``selection`` of the cited clauses, ``naming`` of documents and clauses, ``lead``, ``comparison``, ``follow_ups``)
or ``generate`` (LLM text only; the service checks its [n] with ``citation_marks`` and falls back) → the ``Answer``.
Numbers are in ``assistant/resources/answering.toml`` (``policy``), lead.toml, comparison.toml, follow_ups.toml.
"""
