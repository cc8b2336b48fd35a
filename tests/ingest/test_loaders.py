"""Loaders: encodings, formats (HTML, PDF, DOCX), metadata precedence, and a clear reason for every bad input."""

from __future__ import annotations

import hashlib
import os
import random

import pytest
import yaml

from ingest.catalog import load_catalog
from ingest.loaders import LoadError, corpus_files, load_document, plain_characters, split_front_matter
from ingest.splitter import split_units

CN_TEXT = """---
id: gb-test
title: 数据安全测试规定
jurisdiction: CN
status: in-force
---
# 数据安全测试规定

## 第一章 总则

第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，制定本规定。

第二条 在中华人民共和国境内开展数据处理活动及其安全监管，适用本规定。“数据”是指任何以电子或者其他方式对信息的记录。

第三条 国家保护个人、组织与数据有关的权益，鼓励数据依法合理有效利用。
"""


@pytest.fixture(scope="module")
def catalog():
    from common.settings import PROJECT_ROOT

    return load_catalog(PROJECT_ROOT / "corpus" / "catalog.toml")


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str], with_text: bool = True, placed: list[tuple[int, str]] | None = None) -> bytes:
    """A small valid one-page PDF with a Helvetica text layer, written byte by byte (no PDF library). ``placed``:
    (height on the page, line) text objects drawn in that order instead, wherever they sit."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
    for i, line in enumerate(lines if with_text else []):
        ops.append(("" if i == 0 else "T* ") + f"({_escape(line)}) Tj")
    ops.append("ET")
    for height, line in placed or []:
        ops += ["BT", "/F1 12 Tf", f"72 {height} Td", f"({_escape(line)}) Tj", "ET"]
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF_LINES = ["Framework on Widget Safety", "Article 1 Scope", "This framework applies to providers (all of them)."]


# ---- encodings -------------------------------------------------------------------------------------------


def test_utf8_and_gb18030_decode_to_the_same_document(tmp_path):
    utf8 = tmp_path / "utf8" / "gb-test.md"
    gb = tmp_path / "gb" / "gb-test.md"
    bom = tmp_path / "bom" / "gb-test.md"
    for path in (utf8, gb, bom):
        path.parent.mkdir()
    utf8.write_bytes(CN_TEXT.encode("utf-8"))
    gb.write_bytes(CN_TEXT.encode("gb18030"))
    bom.write_bytes(CN_TEXT.encode("utf-8-sig"))
    with pytest.raises(UnicodeDecodeError):  # the GB18030 bytes really are not UTF-8
        gb.read_bytes().decode("utf-8")

    docs = [load_document(p, {}) for p in (utf8, gb, bom)]
    for doc in docs:
        assert doc.body == docs[0].body
        assert (doc.doc_id, doc.title, doc.language, doc.jurisdiction, doc.status) == (
            "gb-test",
            "数据安全测试规定",
            "zh",
            "CN",
            "in-force",
        )
        assert doc.body.startswith("# 数据安全测试规定") and "“数据”是指任何以电子" in doc.body
    assert len({d.sha256 for d in docs}) == 3  # the hash is of the raw bytes
    assert docs[1].sha256 == hashlib.sha256(CN_TEXT.encode("gb18030")).hexdigest()
    assert [u.label for u in split_units(docs[1])] == ["第一条", "第二条", "第三条"]


def test_a_real_corpus_file_reencoded_as_gb18030_loads_identically(tmp_path, shared_corpus, catalog):
    name = "cn-genai-interim-measures-2023.md"
    original = load_document(shared_corpus / name, catalog)
    reencoded = tmp_path / name
    reencoded.write_bytes((shared_corpus / name).read_text(encoding="utf-8").encode("gb18030"))
    doc = load_document(reencoded, catalog)
    assert doc.body == original.body and doc.title == original.title and doc.language == "zh"
    assert doc.sha256 != original.sha256


def test_gb18030_plain_text_without_front_matter(tmp_path):
    path = tmp_path / "通知.txt"
    path.write_bytes("关于加强测试工作的通知\r\n\r\n各有关单位：请认真贯彻执行。\r\n".encode("gb18030"))
    doc = load_document(path, {})
    assert doc.body == "关于加强测试工作的通知\n\n各有关单位：请认真贯彻执行。\n"
    assert doc.title == "关于加强测试工作的通知" and doc.language == "zh" and doc.doc_id == "通知"


# ---- formats ---------------------------------------------------------------------------------------------


def test_html_loads_as_markdown_without_scripts_or_navigation(tmp_path):
    html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Widget Safety Act</title>
<style>p { color: red; }</style><script>var tracking = "do not index me";</script></head>
<body><nav>Home | About | Contact</nav>
<h1>Widget Safety Act</h1>
<h2>Article 1 &mdash; Scope</h2>
<p>This Act applies to   providers &amp; deployers
of widgets.</p>
<h2>Article 2 &mdash; Duties</h2>
<ul><li>keep records;</li><li>report incidents.</li></ul>
<footer>Copyright notice</footer></body></html>"""
    path = tmp_path / "widget-act.html"
    path.write_text(html, encoding="utf-8")
    doc = load_document(path, {})
    assert doc.title == "Widget Safety Act" and doc.language == "en" and doc.doc_id == "widget-act"
    assert doc.body == (
        "# Widget Safety Act\n\n## Article 1 — Scope\n\nThis Act applies to providers & deployers "
        "of widgets.\n\n## Article 2 — Duties\n\nkeep records;\n\nreport incidents."
    )
    for unwanted in ("tracking", "color: red", "Home | About", "Copyright notice"):
        assert unwanted not in doc.body
    assert [u.label for u in split_units(doc)] == ["Article 1", "Article 2"]


def test_html_markup_in_text_stays_text_and_elements_leave_nothing(tmp_path):
    path = tmp_path / "probe.html"
    path.write_text(
        "<html><body><p>Article 1 &lt;img src=x onerror=alert(1)&gt; applies<img src=x onerror=alert(2)>"
        "<!-- a comment --></p><div>one<nav><p>menu</p></nav>two</div></body></html>",
        encoding="utf-8",
    )
    doc = load_document(path, {})
    # the escaped markup is the text's own (rendering escapes it again); the real element and the comment are gone
    assert doc.body == "Article 1 <img src=x onerror=alert(1)> applies\n\none\n\ntwo"


def test_html_in_gb18030(tmp_path):
    path = tmp_path / "page.htm"
    path.write_bytes(
        "<html><head><title>测试页面</title></head><body><p>第一条 本办法自公布之日起施行。</p></body></html>".encode(
            "gb18030"
        )
    )
    doc = load_document(path, {})
    assert doc.title == "测试页面" and doc.body == "第一条 本办法自公布之日起施行。" and doc.language == "zh"


def test_pdf_loads_its_text_layer(tmp_path):
    path = tmp_path / "widget-framework.pdf"
    path.write_bytes(minimal_pdf(PDF_LINES))
    doc = load_document(path, {})
    assert doc.body.splitlines() == PDF_LINES
    assert doc.title == "Framework on Widget Safety" and doc.language == "en"
    assert doc.doc_id == "widget-framework"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pdf_text_is_read_in_the_order_it_sits_on_the_page(tmp_path):
    # the content stream draws the page's headings first, then the text under each (as eCFR PDFs do)
    placed = [
        (720, "§ 1002.1 Authority."),
        (660, "§ 1002.2 Definitions."),
        (700, "(a) This part is issued by the Bureau under the Act, and it applies to every creditor."),
        (640, "(a) Account means an extension of credit to a consumer or to a business, whichever applies."),
    ]
    path = tmp_path / "regulation.pdf"
    path.write_bytes(minimal_pdf([], placed=placed))
    lines = [line for line in load_document(path, {}).body.splitlines() if line.strip()]
    assert lines == [line for _, line in sorted(placed, key=lambda p: -p[0])]


def test_stand_in_characters_of_pdf_text_layers_become_plain_characters():
    assert plain_characters("⽣成式⼈⼯智能服务，第⼀条（⼀）") == "生成式人工智能服务，第一条（一）"  # Kangxi radicals
    assert plain_characters("公⺠的个⼈信息；⽹络⻔户") == "公民的个人信息；网络门户"  # CJK radicals, simplified
    assert plain_characters("artiﬁcial eﬀect") == "artificial effect"  # ligatures
    text = "第十二条 提供者应当（一）：“标识”；Article 50(2), EUR 15 000 000."
    assert plain_characters(text) == text  # full-width punctuation and ordinary text untouched


@pytest.mark.parametrize("columns", [1, 2])
def test_a_chinese_pdf_made_by_a_browser_reads_as_plain_chinese_with_its_articles(browser, tmp_path, columns):
    articles = [
        "第一条 为了规范生成式人工智能服务，保护公民、法人和其他组织的合法权益，制定本办法。",
        "第二条 提供者应当依法开展预训练、优化训练等训练数据处理活动，使用具有合法来源的数据和基础模型。",
        "第三条 提供者应当按照《互联网信息服务深度合成管理规定》对图片、视频等生成内容进行标识。",
        "第四条 本办法自2023年8月15日起施行。",
    ]
    style = "font-family:'Noto Sans CJK SC';font-size:11pt" + (";column-count:2" if columns == 2 else "")
    html = f"<html><meta charset='utf-8'><body style=\"{style}\"><h3>测试管理办法</h3>"
    html += "".join(f"<p>{a}</p>" for a in articles * 3) + "</body></html>"
    page = browser.new_page()
    page.set_content(html)
    path = tmp_path / "测试管理办法.pdf"
    page.pdf(path=str(path), format="A5")
    page.close()
    doc = load_document(path, {})
    assert not any("\u2e80" <= ch <= "\u2fdf" for ch in doc.body)  # no radicals left
    assert "对图片、视频等生成内容进行标识" in doc.body.replace("\n", "")
    assert doc.language == "zh"
    assert [u.label for u in split_units(doc)][:5] == ["preamble", "第一条", "第二条", "第三条", "第四条"]


def test_docx_loads_with_headings(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("测试管理办法", 0)  # the Title style
    document.add_heading("第一章 总则", 1)
    document.add_paragraph("第一条 为了规范测试活动，制定本办法。")
    document.add_paragraph("")
    document.add_paragraph("第二条 测试者应当遵守法律、行政法规。")
    document.add_heading("第二章 附则", 1)
    document.add_paragraph("第三条 本办法自公布之日起施行。")
    path = tmp_path / "test-measures.docx"
    document.save(path)

    doc = load_document(path, {})
    assert doc.body == (
        "# 测试管理办法\n\n## 第一章 总则\n\n第一条 为了规范测试活动，制定本办法。\n\n"
        "第二条 测试者应当遵守法律、行政法规。\n\n## 第二章 附则\n\n第三条 本办法自公布之日起施行。"
    )
    assert doc.title == "测试管理办法" and doc.language == "zh"
    units = split_units(doc)  # three 第X条 paragraphs: detected as a Chinese law
    assert [(u.label, u.path) for u in units] == [
        ("第一条", ["第一章 总则"]),
        ("第二条", ["第一章 总则"]),
        ("第三条", ["第二章 附则"]),
    ]


# ---- metadata ------------------------------------------------------------------------------------------


def test_front_matter_wins_over_catalog_and_catalog_fills_gaps(tmp_path, shared_corpus, catalog):
    name = "cn-genai-interim-measures-2023.md"
    _, body = split_front_matter((shared_corpus / name).read_text(encoding="utf-8"))

    bare = tmp_path / "bare" / name  # no front matter: id from the file name, facts from the catalog
    bare.parent.mkdir()
    bare.write_text(body, encoding="utf-8")
    doc = load_document(bare, catalog)
    entry = catalog["cn-genai-interim-measures-2023"]
    assert doc.doc_id == entry.doc_id
    assert (doc.title, doc.jurisdiction, doc.status, doc.issued, doc.source_url, doc.scheme) == (
        entry.title,
        "CN",
        "in-force",
        "2023-07-10",
        entry.source_url,
        "cn-articles",
    )

    own = tmp_path / "own" / name
    own.parent.mkdir()
    own.write_text(
        "---\nid: cn-genai-interim-measures-2023\ntitle: 自定义标题\nstatus: draft\n---\n" + body, encoding="utf-8"
    )
    doc = load_document(own, catalog)
    assert (doc.title, doc.status) == ("自定义标题", "draft")
    assert doc.jurisdiction == "CN" and doc.issued == "2023-07-10"  # not in this front matter: catalog


def test_every_corpus_file_loads_with_its_front_matter(shared_corpus, catalog):
    files = corpus_files(shared_corpus)
    assert len(files) == 26 and not any(p.name == "README.md" for p in files)
    for path in files:
        doc = load_document(path, catalog)
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---\n"))
        assert doc.doc_id == meta["id"] == path.stem
        assert doc.title == str(meta["title"]).strip()
        assert doc.language == meta["language"] and doc.jurisdiction == meta["jurisdiction"]
        assert doc.status == meta["status"] and doc.issued == str(meta["issued"])
        assert not doc.body.lstrip().startswith("---") and "obtained_from:" not in doc.body


def test_corpus_files_skips_hidden_files_readmes_and_directories(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for rel in (
        "a.md",
        "README.md",
        "readme.txt",
        ".hidden.md",
        ".git/config.md",
        "sub/b.txt",
        "sub/deeper/c.pdf",
        "sub/README",
    ):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)]
    assert found == ["a.md", "sub/b.txt", "sub/deeper/c.pdf"]


# ---- bad inputs: one clear line each -------------------------------------------------------------------


def _garbage(seed: int, size: int = 4096, nul: bool = True) -> bytes:
    data = random.Random(seed).randbytes(size)
    return data if nul else data.replace(b"\x00", b"\x01")


BAD_INPUTS = {
    "empty.md": (b"", "empty file"),
    "blank.md": (b"  \n\n\t \n", "empty file"),
    "garbage.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _garbage(1), "binary data"),
    "garbage-no-nul.md": (_garbage(2, nul=False), "binary data"),
    "truncated.pdf": (minimal_pdf(PDF_LINES)[:300], "unreadable PDF"),
    "no-text.pdf": (minimal_pdf(PDF_LINES, with_text=False), "PDF has no text layer"),
    "broken.docx": (b"PK\x03\x04" + _garbage(3), "unreadable DOCX"),
    "bad-yaml.md": (b"---\nid: bad-yaml\ntitle: [unclosed\n---\n\nBody text.\n", "broken front matter"),
    "unclosed.md": (b"---\nid: unclosed\ntitle: Never closed\n\nBody text.\n", "broken front matter"),
    "list-front-matter.md": (b"---\n- a\n- b\n---\nBody text.\n", "broken front matter"),
    "only-front-matter.md": (b"---\nid: nothing\ntitle: Nothing\n---\n\n", "no text after the front matter"),
    "notes.xyz": (b"plain words", "unsupported file type .xyz"),
    "Makefile": (b"all:\n\techo hi\n", "unsupported file type (no extension)"),
}


def _assert_one_clear_line(reason: str, expected: str) -> None:
    assert expected in reason
    assert "\n" not in reason and reason == reason.strip() and len(reason) < 200
    assert "Traceback" not in reason


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_a_one_line_reason(tmp_path, name):
    raw, expected = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(LoadError) as info:
        load_document(path, {})
    _assert_one_clear_line(str(info.value), expected)


def test_broken_symlink_and_directory_are_unreadable(tmp_path):
    link = tmp_path / "gone.md"
    link.symlink_to(tmp_path / "does-not-exist.md")
    directory = tmp_path / "folder.md"
    directory.mkdir()
    for path, expected in (
        (link, "cannot read file: No such file or directory"),
        (directory, "cannot read file: Is a directory"),
    ):
        with pytest.raises(LoadError) as info:
            load_document(path, {})
        _assert_one_clear_line(str(info.value), expected)
    # the broken link is a corpus file (it is reported, not silently ignored); the directory is not
    assert corpus_files(tmp_path) == [link]


def test_unreadable_file_permission_denied(tmp_path):
    path = tmp_path / "secret.md"
    path.write_text("# Secret\n\nText.\n", encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that ignore file permissions (root): chmod 000 is still readable")
        with pytest.raises(LoadError) as info:
            load_document(path, {})
        _assert_one_clear_line(str(info.value), "cannot read file: permission denied")
    finally:
        path.chmod(0o644)


def test_a_document_without_catalog_entry_gets_a_title_and_a_jurisdiction_from_its_own_text(tmp_path):
    """No front matter, no catalog entry: a numbered first heading is never the title (the file name is), and
    中华人民共和国… in the title or opening makes the text Chinese law; nothing recognisable leaves it unknown."""
    rulebook = tmp_path / "market-conduct-rules.md"
    rulebook.write_text(
        "# 1. INTRODUCTION\n\n1.1 These rules apply to members.\n\n## 1.2 Definitions\n\nText.\n", encoding="utf-8"
    )
    doc = load_document(rulebook, {})
    assert doc.title == "market-conduct-rules" and doc.jurisdiction == ""
    law = tmp_path / "ecommerce.md"
    law.write_text(
        "# 中华人民共和国电子商务法\n\n第一条 为了保障电子商务各方主体的合法权益，制定本法。\n", encoding="utf-8"
    )
    doc = load_document(law, {})
    assert doc.title == "中华人民共和国电子商务法" and doc.jurisdiction == "CN"
    numbered = tmp_path / "plain.txt"
    numbered.write_text("第一章 总则\n\n第一条 本规则适用于会员。\n", encoding="utf-8")
    assert load_document(numbered, {}).title == "plain"


def test_a_chinese_text_without_front_matter_is_dated_by_its_own_history(tmp_path):
    """The dated adoptions before the first provision: the earliest is when it was issued, the latest (of a later
    year) the last amendment its text includes; a date of entry into force is not one, nor the date of a text it
    repeals, nor a date inside the provisions; a date in front matter wins, and then the history is not read."""

    def dates(name: str, text: str) -> tuple[str, str]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        doc = load_document(path, {})
        return doc.issued, doc.amended

    assert dates(
        "消费者权益保护法.md",
        "# 中华人民共和国消费者权益保护法\n\n"
        "1993年10月31日 第八届全国人民代表大会常务委员会第四次会议通过\n\n"
        "2013年10月25日 第十二届全国人民代表大会常务委员会第五次会议《关于修改的决定》第二次修正\n\n"
        "第一章 总则\n\n第一条 为保护消费者的合法权益，制定本法。\n\n"
        "第六十三条 本法自2014年3月15日起施行，2015年1月1日修订的配套办法另行公布。\n",
    ) == ("1993-10-31", "2013-10-25")
    assert dates(
        "条例.md",
        "# 某省数据条例\n\n（2021年6月29日某省人民代表大会常务委员会第二次会议通过　自2022年1月1日起施行）\n\n"
        "第一条 为了规范数据处理活动，制定本条例。\n",
    ) == ("2021-06-29", "")
    assert dates(
        "令.md",
        "# 某管理规定\n\n《某管理规定》已经2017年5月2日审议通过，现予公布，自2017年6月1日起施行。"
        "2005年9月25日发布的《旧规定》同时废止。\n\n第 一 条 为了规范管理，制定本规定。2019年1月1日修订的标准另行公布。\n",
    ) == ("2017-05-02", "")
    assert dates("rules.md", "# Rules\n\n1.1 These rules were made on 1 May 2020.\n") == ("", "")
    assert dates(
        "fm.md",
        "---\nissued: 2020-01-01\n---\n# 某规定\n\n2014年6月23日 通过\n\n2020年12月23日 修正\n\n第一条 文本。\n",
    ) == ("2020-01-01", "")
