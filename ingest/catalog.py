"""The catalog of known source documents (``corpus/catalog.toml``): facts (``DocumentMeta``), aliases and splitting
scheme."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from common.documents import STATUSES, DocumentMeta


@dataclass(frozen=True, kw_only=True)
class CatalogEntry(DocumentMeta):
    """Our facts about a known document (``DocumentMeta``), plus how to name, date and split it."""

    short_title: str = ""  # how answers name the document (English texts)
    version_date: str = ""  # date of the latest amendment the text includes
    edition: str = ""  # distinguishes versions that share a title: 2016年原文, 2025年修正
    aliases: tuple[str, ...] = ()
    not_included: tuple[str, ...] = ()  # texts the file's version note says it does not include, as users name them
    scheme: str = ""
    preamble_label: str = ""
    heading_units: dict[str, str] = field(default_factory=dict)
    paragraph_units: dict[str, str] = field(default_factory=dict)  # paragraph start -> unit label (paragraphs scheme)
    roman_paragraphs: bool = False


class CatalogError(ValueError):
    pass


def load_catalog(path: Path) -> dict[str, CatalogEntry]:
    """Read the catalog; a missing file is an empty catalog, a malformed one is an error."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    entries: dict[str, CatalogEntry] = {}
    known = set(CatalogEntry.__dataclass_fields__)
    for doc_id, raw in (data.get("documents") or {}).items():
        values = {k: v for k, v in raw.items() if k in known}
        if "official_url" in raw and "source_url" not in raw:  # the older name of the official link
            values["source_url"] = raw["official_url"]
        if values.get("status", "") not in ("", *STATUSES):
            raise CatalogError(f"{path}: {doc_id}: status {values['status']!r} is not one of {', '.join(STATUSES)}")
        values["aliases"] = tuple(values.get("aliases", ()))
        values["not_included"] = tuple(values.get("not_included", ()))
        values["issued"] = str(values.get("issued", ""))
        values["effective"] = str(values.get("effective", ""))
        values["version_date"] = str(values.get("version_date", ""))
        entries[doc_id] = CatalogEntry(doc_id=doc_id, **values)
    return entries
