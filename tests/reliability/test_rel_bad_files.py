"""Bad input on every loader (``ingest.loaders.load_document``) for .md, .txt, .html, .pdf and .docx: random bytes,
truncated and bit-flipped real PDF/DOCX files (made at test time), DOCX packages with a broken part, text in
the wrong encoding (UTF-16/32, Latin-1, Big5, Shift-JIS …), huge files (5 MB). Each load must give a
``SourceDocument`` or a ``LoadError`` with a one-line reason — no other exception type — in bounded time.
Then one ingest over the small corpus plus a set of such files: every bad file is reported, and the index of
the other documents is unchanged.
"""

from __future__ import annotations

import io
import random
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rel_support import FUZZ_SETTINGS, keyword_index_problems, rows_differ, snapshot

SUFFIXES = [".md", ".txt", ".html", ".pdf", ".docx"]
ENGLISH = [
    "Article 1 Subject matter. This Regulation lays down harmonised rules for artificial intelligence systems.",
    "Article 2 Scope. This Regulation applies to providers placing on the market AI systems in the Union.",
    "Article 3 Definitions. For the purposes of this Regulation, the following definitions apply: (1) AI system.",
]


# ---- real files, made at test time --------------------------------------------------------------------------


def make_pdf(paragraphs: list[str], pages: int = 1, padding: int = 0) -> bytes:
    """A valid PDF (Helvetica, one text line per paragraph) with a text layer pypdf can extract; ``padding``
    bytes of random data in an extra stream object (as an embedded image would make a PDF big)."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects: list[bytes] = []
    page_ids = [4 + 2 * i for i in range(pages)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] /Count {pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for p in range(pages):
        lines = "".join(f"({esc(t)}) Tj 0 -16 Td " for t in paragraphs)
        stream = f"BT /F1 10 Tf 40 800 Td {lines}ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {page_ids[p] + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if padding:
        blob = random.Random(padding).randbytes(padding)
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 "
            b"/ColorSpace /DeviceGray /Length %d >>\nstream\n" % len(blob) + blob + b"\nendstream"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def with_media(docx_bytes: bytes, size: int) -> bytes:
    """The same DOCX with ``size`` bytes of random data stored as a media part (as a big image would)."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in source.namelist():
            z.writestr(name, source.read(name))
        z.writestr("word/media/image1.png", random.Random(size).randbytes(size))
    return out.getvalue()


def make_docx(paragraphs: list[str], repeat: int = 1) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Test Regulation on Artificial Intelligence", 0)
    for r in range(repeat):
        document.add_heading(f"Chapter {r + 1}", 1)
        for text in paragraphs:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PDF = make_pdf(ENGLISH)
DOCX = make_docx(ENGLISH)
CHINESE = "第一条 为了促进生成式人工智能健康发展和规范应用，制定本办法。\n\n第二条 利用生成式人工智能技术提供服务，适用本办法。\n"
LATIN = "Règlement général — Article 1er : données à caractère personnel, « consentement », coût, ½ €.\n" * 20


# ---- the one property ---------------------------------------------------------------------------------------


def load_bytes(raw: bytes, suffix: str, name: str = "doc"):
    """Write ``raw`` as a file and load it: a SourceDocument, or the LoadError. Any other exception propagates."""
    from ingest.loaders import LoadError, load_document

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}{suffix}"
        path.write_bytes(raw)
        try:
            return load_document(path, {})
        except LoadError as exc:
            reason = str(exc)
            assert reason.strip() and "\n" not in reason and "\r" not in reason, repr(reason)
            assert len(reason) < 400, reason
            return exc


def assert_loaded(result) -> None:
    from ingest.loaders import LoadError
    from ingest.models import SourceDocument

    assert isinstance(result, (SourceDocument, LoadError)), type(result)
    if isinstance(result, SourceDocument):
        assert result.body.strip() and result.doc_id and result.title is not None


def test_the_made_files_are_real():
    from ingest.models import SourceDocument

    for raw, suffix in ((PDF, ".pdf"), (DOCX, ".docx")):
        doc = load_bytes(raw, suffix)
        assert isinstance(doc, SourceDocument), doc
        assert "harmonised rules for artificial intelligence" in doc.body


@settings(max_examples=60, **FUZZ_SETTINGS)
@given(suffix=st.sampled_from(SUFFIXES), raw=st.binary(max_size=6000))
@example(suffix=".md", raw=b"---\n")
@example(suffix=".md", raw=b"---\ntitle: [\n---\nbody\n")
@example(suffix=".md", raw=b"---\n- a\n- b\n---\nbody\n")
@example(suffix=".md", raw=b"---\n!!python/object:os.system ls\n---\nbody\n")
@example(suffix=".md", raw=b"---\nid: ../../etc/passwd\ntitle: 5\nissued: 2024-13-45\n---\n# T\n\nbody text\n")
@example(suffix=".html", raw=b"<html><script>" + b"x" * 100 + b"</script></html>")
@example(suffix=".html", raw=b"<" * 3000)
@example(suffix=".txt", raw=b"\xef\xbb\xbf")
@example(suffix=".pdf", raw=b"%PDF-1.7\n")
@example(suffix=".pdf", raw=b"%PDF-1.4\n1 0 obj << /Length 99999999999 >> stream\nendobj trailer << /Root 1 0 R >>")
@example(suffix=".docx", raw=b"PK\x03\x04")
def test_random_bytes_give_a_document_or_a_load_error(suffix, raw):
    assert_loaded(load_bytes(raw, suffix))


@settings(max_examples=40, **FUZZ_SETTINGS)
@given(kind=st.sampled_from([".pdf", ".docx"]), data=st.data())
def test_truncated_or_corrupted_pdf_and_docx(kind, data):
    raw = PDF if kind == ".pdf" else DOCX
    how = data.draw(st.sampled_from(["truncate", "flip", "splice"]))
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        out = bytearray(raw)
        for pos in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=20)):
            out[pos] ^= data.draw(st.integers(1, 255))
        raw = bytes(out)
    else:
        start = data.draw(st.integers(0, len(raw)))
        raw = raw[:start] + data.draw(st.binary(max_size=300)) + raw[start + data.draw(st.integers(0, 300)) :]
    assert_loaded(load_bytes(raw, kind))


DOCX_PARTS = zipfile.ZipFile(io.BytesIO(DOCX)).namelist()


@settings(max_examples=40, **FUZZ_SETTINGS)
@given(
    part=st.sampled_from(DOCX_PARTS),
    how=st.sampled_from(["drop", "random", "truncate", "not xml", "empty"]),
    junk=st.binary(max_size=500),
    cut=st.floats(0, 1),
)
@example(part="word/styles.xml", how="drop", junk=b"", cut=0.0)
@example(part="word/document.xml", how="truncate", junk=b"", cut=0.5)
@example(part="[Content_Types].xml", how="random", junk=b"\x00", cut=0.0)
def test_docx_with_a_broken_part(part, how, junk, cut):
    source = zipfile.ZipFile(io.BytesIO(DOCX))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in source.namelist():
            content = source.read(name)
            if name == part:
                if how == "drop":
                    continue
                content = {
                    "random": junk,
                    "truncate": content[: int(len(content) * cut)],
                    "not xml": b"<w:document><unclosed",
                    "empty": b"",
                }[how]
            z.writestr(name, content)
    assert_loaded(load_bytes(out.getvalue(), ".docx"))


ENCODINGS = [
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "latin-1",
    "cp1252",
    "big5",
    "shift_jis",
    "euc-kr",
    "koi8-r",
    "utf-7",
    "mac-roman",
    "cp437",
]


@pytest.mark.parametrize("suffix", [".md", ".txt", ".html"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_text_in_the_wrong_encoding(encoding, suffix):
    text = (
        CHINESE if encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "big5", "shift_jis", "euc-kr") else LATIN
    )
    if suffix == ".html":
        text = f"<html><head><title>T</title></head><body><p>{text}</p></body></html>"
    raw = text.encode(encoding, errors="replace")
    result = load_bytes(raw, suffix)
    assert_loaded(result)
    # NUL-bearing encodings are always refused; the others may decode (possibly as mojibake, which a human
    # sees in `regqa docs`), but never crash
    if encoding.startswith(("utf-16", "utf-32")):
        from ingest.loaders import LoadError

        assert isinstance(result, LoadError) and "binary data" in str(result)


def test_huge_files_load_or_fail_in_bounded_time():
    from ingest.loaders import LoadError
    from ingest.models import SourceDocument

    size = 5 * 1024 * 1024
    rng = random.Random(5)
    paragraph = (
        "第十二条 提供者应当按照《互联网信息服务深度合成管理规定》对图片、视频等生成内容进行标识。\n\n"
        "Article 50 Transparency obligations for providers and deployers of certain AI systems.\n\n"
    )
    text = (paragraph * (size // len(paragraph.encode()) + 1)).encode()[:size].decode("utf-8", "ignore")
    cases = {
        "valid.md": (text.encode(), SourceDocument),
        "valid.txt": (text.encode(), SourceDocument),
        "valid.html": (("<html><body>" + text.replace("\n\n", "<p>") + "</body></html>").encode(), SourceDocument),
        "random.md": (rng.randbytes(size), LoadError),
        "random.html": (rng.randbytes(size), LoadError),
        "random.pdf": (rng.randbytes(size), LoadError),
        "random.docx": (rng.randbytes(size), LoadError),
        "one-line.txt": (b"a" * size, SourceDocument),
        "pdf-then-junk.pdf": (PDF + rng.randbytes(size), (SourceDocument, LoadError)),
        "big.pdf": (make_pdf(ENGLISH * 3, pages=20, padding=size), SourceDocument),
        "big.docx": (with_media(make_docx(ENGLISH, repeat=20), size), SourceDocument),
        "many-pages.pdf": (make_pdf(ENGLISH * 3, pages=500), SourceDocument),
        "many-paragraphs.docx": (make_docx(ENGLISH, repeat=2500), SourceDocument),  # 10k paragraphs
    }
    timings = {}
    for name, (raw, expected) in cases.items():
        stem, suffix = name.rsplit(".", 1)
        t = time.perf_counter()
        result = load_bytes(raw, "." + suffix, stem)
        timings[name] = (round(len(raw) / 1e6, 1), round(time.perf_counter() - t, 2))
        assert isinstance(result, expected), (name, result)
        assert timings[name][1] < 30, (name, timings[name])
    assert timings["many-paragraphs.docx"][1] < 10  # style look-ups once per style, not once per paragraph
    print("\n[huge files] name: (MB, seconds) " + ", ".join(f"{k}: {v}" for k, v in timings.items()))


def test_ingest_over_a_corpus_with_bad_files_leaves_the_other_documents_unchanged(index_copy):
    from ingest.pipeline import run_ingest

    settings, corpus = index_copy.settings, index_copy.corpus_dir
    before = snapshot(settings)
    rng = random.Random(11)
    bad = {
        "random.md": rng.randbytes(4000),
        "random.txt": b"\x00" + rng.randbytes(4000),
        "random.html": rng.randbytes(4000),
        "random.pdf": rng.randbytes(4000),
        "random.docx": rng.randbytes(4000),
        "truncated.pdf": PDF[: len(PDF) // 2],
        "truncated.docx": DOCX[: len(DOCX) // 2],
        "utf16.md": CHINESE.encode("utf-16"),
        "utf32.txt": CHINESE.encode("utf-32"),
        "huge-random.html": rng.randbytes(5 * 1024 * 1024),
        "no-text.pdf": make_pdf([""]),
        "title-only.docx": make_docx([], repeat=0),
        "broken-yaml.md": b"---\ntitle: [unclosed\n---\n# Body\n\ntext\n",
        "front-matter-only.md": b"---\nid: only-meta\ntitle: Only metadata\n---\n",
    }
    for name, raw in bad.items():
        (corpus / name).write_bytes(raw)

    report = run_ingest(settings)
    reasons = {f.path.name: f.reason for f in report.failed}
    added = set(report.added)
    for name in bad:
        assert name in reasons or Path(name).stem in added or any(a.startswith(Path(name).stem) for a in added), (
            name,
            reasons,
            added,
        )
    for name, reason in reasons.items():
        assert reason.strip() and "\n" not in reason, (name, reason)
    assert sorted(report.skipped) == sorted({m["doc_id"] for m, _, _ in before.values()})
    assert report.removed == [] and report.replaced == []

    after = snapshot(settings)
    originals = {cid: row for cid, row in after.items() if cid in before}
    assert not rows_differ(originals, before, atol=1e-6)
    assert not keyword_index_problems(settings)
    print(
        "\n[bad corpus] "
        + "; ".join(f"{k}: {v}" for k, v in sorted(reasons.items()))
        + (f"; loaded anyway: {sorted(added)}" if added else "")
    )
