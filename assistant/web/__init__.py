"""The web server: one FastAPI application with the JSON / OpenAI-compatible API, the chat bots' endpoints and the
Gradio UI at ``/`` (``create_app`` in ``app.py``).

- ``health.py``: ``GET /healthz`` alive; ``GET /readyz`` index loaded and model warm
- ``api.py``: ``POST /v1/ask`` {question, history?, filters?, mode?, as_of?} -> answer, citations (full clause
  text), refused, timings; ``GET /v1/documents`` what is indexed
- ``openai_compat.py``: ``POST /v1/chat/completions`` OpenAI-compatible (stream or not)
- ``obligations.py``: ``GET /v1/obligations?doc=…&role=…&jurisdiction=…&as_of=…`` -> ``{"items": [...]}``
- ``documents.py``: ``POST /v1/documents``, ``DELETE /v1/documents/{doc_id}`` (admin), ``GET /v1/jobs/{job_id}``
- ``feedback.py``: ``POST /v1/feedback``; ``export.py``: ``POST /v1/export`` (Markdown or DOCX attachment)
- ``login.py``: ``/login``, ``/logout``; ``guard.py``: the middleware in front of every route (security headers,
  same-origin check, authentication, request sizes, Gradio's document events)
- ``dependencies.py``: what routes depend on (the context, the caller, the answer service, JSON bodies);
  ``errors.py``: the ``{"error": {"message", "type"}}`` answers
- ``ui.py`` (+ ``ui_obligations.py``, ``chat_view.py``, ``documents_view.py``): the Gradio UI
- the Slack and WeCom endpoints come from ``assistant.channels``
"""

from assistant.web.app import create_app

__all__ = ["create_app"]
