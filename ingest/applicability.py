"""When a unit of a document applies. Placeholder: the dates branch owns this module and replaces it at merge;
until then every unit applies from the document's effective date."""
from __future__ import annotations


def unit_applicability(doc_id: str, unit: str, effective: str, status: str) -> tuple[str, str]:
    """(applies_from, applies_until) of ``unit`` of ``doc_id`` as ISO dates, or "" when unknown / open-ended."""
    return (effective, "")
