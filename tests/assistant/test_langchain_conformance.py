"""LangChain's own standard retriever tests (``langchain-tests``) against ``ClauseRetriever`` on the real
full-corpus index: documents returned by ``invoke`` / ``ainvoke``, and ``k`` honoured both at construction
(``ClauseRetriever(engine=…, k=3)``) and per call (``invoke(query, k=1)``)."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.retrieval import ClauseRetriever


class TestClauseRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _engine(self, service) -> None:
        # the session's HybridRetriever on the full index (this suite's own ``retriever`` fixture is the
        # ClauseRetriever built from the constructor parameters below)
        self.engine = service.retriever

    @property
    def retriever_constructor(self) -> type[ClauseRetriever]:
        return ClauseRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"engine": self.engine}

    @property
    def retriever_query_example(self) -> str:
        return "深度合成服务提供者应当如何标识生成内容？"
