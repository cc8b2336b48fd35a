"""``ClauseRetriever``: the retrieval stage as a LangChain ``BaseRetriever`` (passes LangChain's standard
retriever tests: ``k`` at construction and per call)."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.types import Filters


class ClauseRetriever(BaseRetriever):
    """LangChain face of ``HybridRetriever``: the first ``k`` clauses of its result (the ranked ones, then any
    cross-referenced ones while there is room), as documents carrying the clause metadata and fused score.
    ``invoke(query, k=…, filters=…)`` overrides the constructor's values for one call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    engine: HybridRetriever
    k: int = 10
    filters: Filters | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | dict | None = None,
    ) -> list[Document]:
        k = self.k if k is None else k
        result = self.engine.run(query, filters=self.filters if filters is None else filters, k=k)
        return [
            Document(
                page_content=c.text, id=c.chunk_id, metadata={**c.meta, "score": c.score, "signals": dict(c.signals)}
            )
            for c in result.clauses[:k]
        ]
