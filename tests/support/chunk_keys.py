"""The public metadata keys every stored chunk carries (README, "How it works"): one list for the tests that check
them at ingest, on the fixture corpus and through the LangChain retriever."""

PUBLIC_CHUNK_KEYS = (
    "doc_id",
    "title",
    "unit",
    "locator",
    "path",
    "jurisdiction",
    "language",
    "doc_type",
    "status",
    "issued",
    "source_url",
    "chunk_index",
    "sha256",
)
