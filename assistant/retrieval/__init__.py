"""The question path up to the ranked clauses, one stage per module:

    analysis.py    question, history, documents -> QueryAnalysis (frozen; pure)
    candidates.py  LookupSource / KeywordSource / DenseSource: run(analysis, filters) -> list[Candidate]
    ranking.py     fusion + the policy's table of rules + date of application + diversification
    crossrefs.py   clauses the ranked ones refer to
    retriever.py   HybridRetriever.run(question, history, filters, k) -> RetrievalResult (wiring only)

``index.py`` holds the collection in memory (ClauseIndex, unit roles), ``policy.py`` loads every number and word
list from assistant/resources/ranking.toml (RankingPolicy), ``langchain_retriever.py`` is the LangChain face.
"""

from assistant.retrieval.analysis import QueryAnalysis, analyse, asks_definition, asks_scope, question_language
from assistant.retrieval.documents import REVOKED_STATUSES, DocInfo, DocResolver
from assistant.retrieval.index import ClauseIndex
from assistant.retrieval.langchain_retriever import ClauseRetriever
from assistant.retrieval.policy import PolicyError, RankingPolicy, default_policy, load_policy
from assistant.retrieval.references import ClauseRef, parse_clause_refs
from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.types import Candidate, Filters, RetrievalResult, RetrievedClause

__all__ = [
    "REVOKED_STATUSES",
    "Candidate",
    "ClauseIndex",
    "ClauseRef",
    "ClauseRetriever",
    "DocInfo",
    "DocResolver",
    "Filters",
    "HybridRetriever",
    "PolicyError",
    "QueryAnalysis",
    "RankingPolicy",
    "RetrievalResult",
    "RetrievedClause",
    "analyse",
    "asks_definition",
    "asks_scope",
    "default_policy",
    "load_policy",
    "parse_clause_refs",
    "question_language",
]
