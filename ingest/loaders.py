"""Load source files into ``SourceDocument``s.

Formats: Markdown with optional YAML front matter, plain text, HTML, PDF (pypdf), DOCX (python-docx).
Text files in UTF-8 or GB18030/GBK are detected and decoded. Metadata comes from the front matter, else
from the catalog, else from the file itself. Every failure is a ``LoadError`` with a one-line reason.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from common.documents import parse_status
from common.language import detect_language

from .catalog import CatalogEntry
from .models import SourceDocument

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".html", ".htm", ".pdf", ".docx"}
SKIPPED_NAMES = {"readme.md", "readme.txt", "readme"}

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


class LoadError(Exception):
    """A file that cannot be ingested; ``str(err)`` is the one-line reason."""


def corpus_files(corpus_dir: Path) -> list[Path]:
    """All candidate files under ``corpus_dir`` (recursively), minus hidden files and READMEs."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_dir() or path.name.lower() in SKIPPED_NAMES:
            continue
        files.append(path)
    return files


def decode_text(raw: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK; refuse binary data."""
    if not raw.strip():
        raise LoadError("empty file")
    if b"\x00" in raw[:8192]:
        raise LoadError("binary data, not text (contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise LoadError("not decodable as UTF-8 or GB18030 text (binary data?)")


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0x7F <= ord(ch) < 0xA0)
    private = sum(1 for ch in sample if 0xE000 <= ord(ch) <= 0xF8FF or ch == "\ufffd")
    return (control + private) / len(sample) < 0.01


def split_front_matter(text: str) -> tuple[dict, str]:
    """Return (front matter dict, body). A file without front matter yields ({}, text)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        if text.startswith("---\n") or text.startswith("---\r\n"):
            raise LoadError("broken front matter: opening '---' without a closing '---'")
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:  # ValueError: e.g. a date 2024-13-45
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LoadError(f"broken front matter: not valid YAML ({first_line})") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise LoadError("broken front matter: expected key: value pairs")
    return meta, text[match.end() :]


_HTML_SKIPPED = ("script", "style", "head", "nav", "footer", "noscript")
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_HTML_BLOCKS = ("p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "blockquote", "pre")


def _html_to_markdown(html: str) -> tuple[str, str]:
    """(Markdown body, <title>) of an HTML page parsed by BeautifulSoup: headings become ``#`` headings, block
    elements paragraphs, whitespace inside a paragraph one space; scripts, styles, navigation and footers are
    dropped. Character references are decoded to text (``&lt;img&gt;`` is the text ``<img>``, never an element)."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text() if soup.title else ""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "".join(_html_text_parts(soup)))]
    return "\n\n".join(p for p in paragraphs if p and p != "#" * len(p)), title


def _html_text_parts(root: Tag) -> Iterator[str]:
    """The page's text in document order, with a paragraph break around every block element. Walked with an
    explicit stack (linear in the page, however deeply unclosed tags nest); the tree is not modified."""
    stack: list[tuple[PageElement, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if not isinstance(node, Tag):
            if type(node) is NavigableString:  # not comments, doctypes, CDATA
                yield re.sub(r"[ \t\r\n]+", " ", node)
            continue
        if node.name in _HTML_SKIPPED:
            yield "\n\n" if node.find(_HTML_BLOCKS) else ""  # blocks inside still end a paragraph
            continue
        is_block = node.name in _HTML_BLOCKS or node.name in _HTML_HEADINGS
        if closing:
            yield "\n\n" if is_block else ""
            continue
        if is_block:
            yield "\n\n" + ("#" * int(node.name[1]) + " " if node.name in _HTML_HEADINGS else "")
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))


_COMPATIBILITY_RANGES = ((0x2E80, 0x2FDF), (0xF900, 0xFAFF), (0xFB00, 0xFB06))
_COMPATIBILITY_CHARACTERS = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in _COMPATIBILITY_RANGES) + "]")


@lru_cache(maxsize=1)
def _character_table() -> dict[str, str]:
    table = {}
    for line in (
        (Path(__file__).parent / "resources" / "compatibility_characters.tsv").read_text(encoding="utf-8").splitlines()
    ):
        if line.strip() and not line.startswith("#"):
            radical, character = line.split("\t")
            table[radical] = character
    return table


def plain_characters(text: str) -> str:
    """Text with the stand-in characters of PDF text layers replaced: a Kangxi radical for the ideograph it looks
    like (⽣成式⼈⼯智能 -> 生成式人工智能, so that 第⼀条 is an article and the words are words), a ligature for its
    letters (artiﬁcial -> artificial), a compatibility ideograph for the unified one. Other text is unchanged
    (NFKC is not applied to the whole text: it would turn Chinese full-width punctuation into ASCII)."""
    table = _character_table()
    return _COMPATIBILITY_CHARACTERS.sub(
        lambda m: table.get(m.group(0)) or unicodedata.normalize("NFKC", m.group(0)), text
    )


_RUN_OF_SPACES = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n\s*\n")
# a space between two ideographs is where a justified line was spread, except after an article or chapter number
_SPACE_IN_CHINESE = re.compile(r"(?<=[\u3400-\u9fff])(?<![条章节编]) (?=[\u3400-\u9fff])")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _page_text(page) -> str:
    """A page's text in reading order. Latin-script pages: pypdf's layout mode (lines as they sit on the page, so
    a section heading stays above its text where the content stream draws all of a page's headings first), its
    runs of spaces closed up and one blank line kept where the page has a gap. The content-stream order instead
    for a page set in columns (layout mode would join the columns' lines) and for a page of Chinese, Japanese or
    Korean text (layout mode spaces out justified lines of ideographs)."""
    plain = page.extract_text() or ""
    if len(_CJK.findall(plain)) > CJK_PAGE_SHARE * len(plain.strip() or "x"):
        return plain
    try:
        laid_out = page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode fails on some fonts: the plain text is still good
        return plain
    lines = laid_out.splitlines()
    if not any(line.strip() for line in lines) or _in_columns(lines):
        return plain
    text = "\n".join(_RUN_OF_SPACES.sub(" ", line.strip()) for line in lines)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _in_columns(lines: list[str]) -> bool:
    """Whether a laid-out page has a gutter: a run of blank character positions in the middle third of the page
    that most of its long lines share (justified single-column text has gaps too, but not one above another)."""
    width = max((len(line.rstrip()) for line in lines), default=0)
    long = [line for line in lines if len(line.rstrip()) >= LONG_LINE_SHARE * width]
    if width < 40 or len(long) < MIN_COLUMN_LINES:
        return False
    for at in range(width // 3, 2 * width // 3):
        blank = sum(1 for line in long if not line[at - GUTTER_WIDTH // 2 : at + GUTTER_WIDTH // 2 + 1].strip())
        if blank >= GUTTER_SHARE * len(long):
            return True
    return False


def _pdf_to_text(raw: bytes, max_unpacked_bytes: int) -> str:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import PdfReadError

    # pypdf refuses a stream that inflates past the limit while it decompresses it, before parsing it
    limits = {
        name: max_unpacked_bytes
        for name in (
            "zlib_maximum_output_length",
            "lzw_maximum_output_length",
            "run_length_maximum_output_length",
            "array_based_stream_maximum_output_length",
            "maximum_declared_stream_length",
        )
    }
    try:
        with apply_configuration(None, **limits):  # None: overlay the current configuration
            reader = PdfReader(io.BytesIO(raw), strict=False)
            pages, size = [], 0
            for page in reader.pages:
                pages.append(_page_text(page))
                size += len(pages[-1])
                if size > max_unpacked_bytes:
                    raise LoadError(f"PDF text is larger than {max_unpacked_bytes // 1_000_000} MB")
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    except Exception as exc:  # pypdf raises many kinds of errors on truncated files
        raise LoadError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    text = "\n\n".join(_SPACE_IN_CHINESE.sub("", plain_characters(p.strip())) for p in pages if p.strip())
    if not text.strip():
        raise LoadError("PDF has no text layer (scanned image?)")
    return text


def _check_unpacked_size(raw: bytes, max_unpacked_bytes: int) -> None:
    """Refuse a DOCX whose parts inflate past the limit, from the zip directory, before anything is inflated."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(f"unreadable DOCX ({type(exc).__name__}: {str(exc)[:120]})") from None
    if unpacked > max_unpacked_bytes:
        raise LoadError(f"DOCX unpacks to {unpacked / 1e6:.0f} MB; the limit is {max_unpacked_bytes / 1e6:.0f} MB")


def _docx_to_markdown(raw: bytes, max_unpacked_bytes: int) -> str:
    import zipfile

    import docx

    _check_unpacked_size(raw, max_unpacked_bytes)
    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"unreadable DOCX ({type(exc).__name__}: {str(exc)[:120]})") from None
    except Exception as exc:
        raise LoadError(f"unreadable DOCX ({type(exc).__name__}: {str(exc)[:120]})") from None
    lines = []
    style_names: dict[str | None, str] = {}  # python-docx resolves a style in O(number of styles): once per id
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style_id = para._p.style
        if style_id not in style_names:
            style_names[style_id] = (para.style.name or "").lower() if para.style is not None else ""
        style = style_names[style_id]
        match = re.match(r"heading (\d)", style)
        if style == "title":
            lines.append(f"# {text}")
        elif match:
            lines.append("#" * min(6, int(match.group(1)) + 1) + " " + text)
        else:
            lines.append(text)
    if not lines:
        raise LoadError("DOCX has no text")
    return "\n\n".join(lines)


def http_link(url: str | None) -> str:
    """The URL when it is an absolute http(s) link, else '' (never ``javascript:``, ``data:`` or relative links,
    nor anything holding quotes, brackets or spaces)."""
    from urllib.parse import urlsplit

    url = (url or "").strip()
    parts = urlsplit(url)
    plain = not any(ch in url for ch in "\"'<> \n\r\t")
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc and plain else ""


# Headings that number a part of a text ("1. INTRODUCTION", "1)\tINTRODUCTION", "A. INTRODUCTION", "第一章 总则",
# "Article 3", "1.2.1 Scope") name that part, not the document: never a title.
_NUMBERED_HEADING = re.compile(
    r"^(\d+(\.\d+)*[.)]?\s|\(\d+\)\s|[A-Z][.)]\s|第[一二三四五六七八九十百零\d]+[编章节条]|"
    r"(Article|Section|Sec\.|Chapter|CHAPTER|Part|PART|Rule|Annex|ANNEX)\s+[\dIVXLC]+\b|§)"
)
# A heading that opens a part of any text ("Definitions", "INTRODUCTION", "Table of Contents", 目录, 总则) is not
# the document's title either.
_GENERIC_HEADING = re.compile(
    r"^(definitions?|interpretation|introduction|contents|table of contents|preamble|foreword|summary|"
    r"executive summary|overview|background|purpose|scope|glossary|目录|总则|前言|引言|说明)\W*$",
    re.I,
)


def _first_heading(body: str) -> str:
    """A title from the text: its first H1, or for a text without headings its first line — never a numbered or
    generic heading or line ("1) INTRODUCTION", "Definitions"); else "" (the caller uses the file name)."""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("# ") and not _part_heading(line[2:].strip()):
            return line[2:].strip()
    if lines and not any(line.startswith("#") for line in lines) and not _part_heading(lines[0]):
        return lines[0][:80]
    return ""


def _part_heading(line: str) -> bool:
    """A heading naming a part of a text (numbered, or a generic one such as "Definitions"), not the text."""
    return bool(_NUMBERED_HEADING.match(line) or _GENERIC_HEADING.match(line))


@lru_cache(maxsize=1)
def _jurisdiction_hints() -> tuple[int, list[tuple[str, list[str]]]]:
    data = tomllib.loads((Path(__file__).parent / "resources" / "jurisdiction_hints.toml").read_text(encoding="utf-8"))
    return int(data["opening_chars"]), [(h["code"], h["words"]) for h in data["hints"]]


def infer_jurisdiction(title: str, body: str) -> str:
    """The jurisdiction a text names in its title or opening (中华人民共和国…, Official Journal of the European
    Union …), or "" (unknown)."""
    chars, hints = _jurisdiction_hints()
    opening = f"{title}\n{body[:chars]}"
    return next((code for code, words in hints if any(word in opening for word in words)), "")


@dataclass(frozen=True)
class _PromulgationPolicy:
    opening_chars: int
    events: tuple[str, ...]
    not_events: tuple[str, ...]
    effective_before: tuple[str, ...]
    effective_after: tuple[str, ...]
    opening_end: re.Pattern


@lru_cache(maxsize=1)
def _promulgation_policy() -> _PromulgationPolicy:
    data = tomllib.loads((Path(__file__).parent / "resources" / "promulgation.toml").read_text(encoding="utf-8"))
    return _PromulgationPolicy(
        int(data["opening_chars"]),
        tuple(data["events"]),
        tuple(data["not_events"]),
        tuple(data["effective_before"]),
        tuple(data["effective_after"]),
        re.compile(data["opening_end"]),
    )


_SENTENCE = re.compile(r"[^。；;\n]+")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def promulgation_dates(body: str) -> tuple[str, str]:
    """(issued, last amendment) as ISO dates from a Chinese text's own history before its first provision
    (resources/promulgation.toml): the earliest dated adoption, and the latest when of a later year; "" when the
    opening dates none."""
    policy = _promulgation_policy()
    opening = body[: policy.opening_chars]
    end = policy.opening_end.search(opening)
    dates: list[str] = []
    for sentence in _SENTENCE.findall(opening[: end.start()] if end else opening):
        if not any(w in sentence for w in policy.events) or any(w in sentence for w in policy.not_events):
            continue
        for m in _CN_DATE.finditer(sentence):
            y, mo, d = (int(g) for g in m.groups())
            before, after = sentence[: m.start()].rstrip(), sentence[m.end() :].lstrip()
            if before.endswith(policy.effective_before) or after.startswith(policy.effective_after):
                continue  # 自2022年1月1日起施行: when it applies, not an event of the text
            if 1 <= mo <= 12 and 1 <= d <= 31:
                dates.append(f"{y:04d}-{mo:02d}-{d:02d}")
    if not dates:
        return "", ""
    dates.sort()
    return dates[0], (dates[-1] if dates[-1][:4] > dates[0][:4] else "")


def _slug(stem: str) -> str:
    slug = re.sub(r"[^\w\-]+", "-", stem, flags=re.UNICODE).strip("-").lower()
    return slug or "document"


DEFAULT_MAX_UNPACKED_BYTES = 50_000_000
# PDF pages: set in columns when at least GUTTER_SHARE of the page's long lines (at least LONG_LINE_SHARE of the
# longest; MIN_COLUMN_LINES of them at least) are blank over GUTTER_WIDTH character positions at the same place in
# the middle third; text of ideographs when more than CJK_PAGE_SHARE of its characters are Chinese, Japanese or
# Korean
GUTTER_SHARE = 0.8
LONG_LINE_SHARE = 0.6
GUTTER_WIDTH = 3
MIN_COLUMN_LINES = 8
CJK_PAGE_SHARE = 0.3


def load_document(
    path: Path, catalog: dict[str, CatalogEntry], max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
) -> SourceDocument:
    """Load one file. Raises ``LoadError`` with a one-line reason for anything that cannot be ingested.
    ``max_unpacked_bytes`` bounds what a PDF or DOCX may inflate to."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kind = suffix or "(no extension)"
        raise LoadError(f"unsupported file type {kind}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise LoadError("cannot read file: permission denied") from None
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from None
    if not raw.strip():
        raise LoadError("empty file")

    meta: dict = {}
    html_title = ""
    if suffix in TEXT_SUFFIXES:
        text = decode_text(raw, path.name).replace("\r\n", "\n").replace("\r", "\n")
        meta, body = split_front_matter(text) if suffix != ".txt" or text.startswith("---") else ({}, text)
    elif suffix in {".html", ".htm"}:
        body, html_title = _html_to_markdown(decode_text(raw, path.name))
        html_title = html_title.strip()
    elif suffix == ".pdf":
        body = _pdf_to_text(raw, max_unpacked_bytes)
    else:
        body = _docx_to_markdown(raw, max_unpacked_bytes)

    body = plain_characters(body)
    if not body.strip():
        raise LoadError("no text after the front matter" if meta else "no text in file")
    if not _looks_like_text(body):
        raise LoadError("binary data, not text")

    doc_id = str(meta.get("id") or "").strip() or (path.stem if path.stem in catalog else _slug(path.stem))
    entry = catalog.get(doc_id) or CatalogEntry(doc_id=doc_id)

    def pick(key: str, catalog_value: str, fallback: str = "") -> str:
        value = meta.get(key)
        return str(value).strip() if value not in (None, "") else (catalog_value or fallback)

    title = pick("title", entry.title, html_title or _first_heading(body) or path.stem)
    issued, amended = pick("issued", entry.issued), pick("amended", entry.amended or entry.version_date)
    if not issued:  # the text's own history dates it only when nothing else does
        issued, history_amended = promulgation_dates(body)
        amended = amended or history_amended
    return SourceDocument(
        doc_id=doc_id,
        title=title,
        body=body,
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        language=pick("language", entry.language, detect_language(body)),
        title_en=pick("title_en", entry.title_en),
        jurisdiction=pick("jurisdiction", entry.jurisdiction, infer_jurisdiction(title, body)),
        doc_type=pick("doc_type", entry.doc_type),
        status=parse_status(pick("status", entry.status)),
        issued=issued,
        amended=amended,
        effective=pick("effective", entry.effective),
        issuer=pick("issuer", entry.issuer),
        source_url=http_link(pick("source_url", "") or pick("official_url", entry.source_url)),
        scheme=entry.scheme,
        version_note=str(meta.get("version_note") or ""),
    )
