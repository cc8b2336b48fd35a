"""Plain-text rulebooks whose lines start with their provision number (ingest/provisions.py, via the splitter)."""

from __future__ import annotations

from pathlib import Path

from ingest.models import SourceDocument
from ingest.provisions import find_provisions, split_provisions
from ingest.splitter import blocks_of, chunk_document, detect_scheme, split_units

RULEBOOK = """\
Sample Market Rules (an invented rulebook for tests)
Version 2, 2026

1\tGENERAL PROVISIONS
1.1\tApplication
These Rules apply to every Licensed Dealer.
1.2\tDefinitions
1.2.1\tClient Money means money held for a client, other than money of the Licensed Dealer.
1.2.2\tA Licensed Dealer must keep Client Money in a segregated account.
2\tCONDUCT
2.1\tDisclosure
2.1.1\tA Licensed Dealer must give each client:
(a)\ta written fee schedule; and
(b)\tnotice of any change at least 30 days in advance.
2.1.2\tWithout limiting Rule 1.2.2, the Regulator may direct a Licensed Dealer to report monthly.
10.5 million units of exposure is not a provision number but a wrapped line.
12.4 Percent figures far ahead of the numbering are text too.
2.1.2\tA running head repeating an earlier number is text, not a new provision.
2.2.1.(1)\tA dealer holding more than 5% of an issue must notify the Regulator within 2 business days.
2.2.1.(2)\tNotwithstanding Rule 2.2.1(1), the Regulator may extend the period.
5A.1.1\tHigh-cost dealers must cap charges at 0.8% a day.
"""


def _doc(body: str) -> SourceDocument:
    return SourceDocument(
        doc_id="sample-rules",
        title="Sample Market Rules",
        body=body,
        path=Path("rules.txt"),
        sha256="0" * 64,
        language="en",
    )


def test_numbered_lines_become_units_and_their_parents_the_path():
    units = split_provisions(RULEBOOK)
    labels = [u.label for u in units]
    assert labels == ["preamble", "1.1", "1.2.1", "1.2.2", "2.1.1", "2.1.2", "2.2.1.(1)", "2.2.1.(2)", "5A.1.1"]
    by_label = {u.label: u for u in units}
    assert by_label["1.2.1"].path == ["1 GENERAL PROVISIONS", "1.2 Definitions"]  # 1.2 is a heading, not a unit
    assert by_label["2.1.1"].path == ["2 CONDUCT", "2.1 Disclosure"]
    assert by_label["1.1"].blocks == ["1.1 Application", "These Rules apply to every Licensed Dealer."]
    assert by_label["2.1.1"].blocks[1:] == [
        "(a)\ta written fee schedule; and",
        "(b)\tnotice of any change at least 30 days in advance.",
    ]
    # a wrapped line starting with a number and a repeated (not rising) number stay text of the open provision
    assert any(b.startswith("10.5 million") for b in by_label["2.1.2"].blocks)
    assert any(b.startswith("12.4 Percent") for b in by_label["2.1.2"].blocks)
    assert any("running head" in b for b in by_label["2.1.2"].blocks)
    assert by_label["preamble"].blocks == ["Sample Market Rules (an invented rulebook for tests)", "Version 2, 2026"]


def test_prefixed_numbers_form_their_own_sequence():
    body = "\n".join(
        [
            "Regulation on Lending",
            "§ 1002.1 Authority, scope and purpose.",
            "(a) Authority. This regulation is issued.",
            "§ 1002.2 Definitions.",
            "(a) Account means an extension of credit.",
            "§ 1002.4 General rules.",
            "(a) Discrimination. A creditor shall not discriminate.",
            "§ 1002.2 Definitions.",  # a running head
            "(b) Applicant means any person who requests credit.",
        ]
        + [f"§ 1002.{n} Rule {n}.\nText of rule {n}." for n in range(5, 12)]
    )
    provisions = find_provisions(body.splitlines())
    assert [p.label for p in provisions][:4] == ["§ 1002.1", "§ 1002.2", "§ 1002.4", "§ 1002.5"]
    doc = _doc(body)
    assert detect_scheme(doc, blocks_of(doc.body)) == "numbered-provisions"
    units = {u.label: u for u in split_units(doc)}
    assert "(b) Applicant means any person who requests credit." in units["§ 1002.4"].blocks


def test_a_table_of_contents_is_preamble_and_the_provisions_after_it_are_the_units():
    # an eCFR part as a PDF's text layer: its contents list every section, then the sections follow
    sections = {n: f"Rule {n} text: a creditor shall keep record {n}." for n in (1, 2, 3, 4, 5, 6, 7, 8, 9)}
    contents = [f"§ 1002.{n} Heading {n}." for n in sections]
    body = "\n".join(
        [
            "Equal Credit Opportunity (Regulation B)",
            *contents[:5],
            "Subpart B Small Business",
            *contents[5:],
            "Page 1 of 170",
        ]
        + [line for n, text in sections.items() for line in (f"§ 1002.{n} Heading {n}.", text)]
    )
    units = {u.label: u for u in split_provisions(body)}
    assert list(units) == ["preamble", *(f"§ 1002.{n}" for n in sections)]
    assert units["§ 1002.3"].blocks == ["§ 1002.3 Heading 3.", sections[3]]
    assert "§ 1002.9 Heading 9." in units["preamble"].blocks  # the contents' entries


def test_numbers_that_start_again_after_text_are_not_a_table_of_contents():
    body = "\n".join(f"§ 1002.{n} Rule {n}.\nText of rule {n}.\nMore text of rule {n}." for n in range(1, 10))
    body += "\n§ 1002.2 Definitions.\n(b) A running head and the text after it."
    labels = [p.label for p in find_provisions(body.splitlines())]
    assert labels == [f"§ 1002.{n}" for n in range(1, 10)]


def test_appendices_and_supplements_are_units_and_their_contents_entries_are_not():
    # an eCFR part: the contents list the sections, then the appendices and the supplement (with page heads between);
    # after the last section come the appendices, then the official interpretations, which mention an appendix again
    body = "\n".join(
        [
            *(f"§ 1002.{n} Heading {n}." for n in range(1, 10)),
            "Appendix A to Part 1002",
            "12 CFR Part 1002 (June 26, 2025) page 1 of 170",
            "Federal Agencies To Be Listed",
            "Appendix B to Part 1002",
            "Model Application Forms",
            "Supplement I to Part 1002",
            "Official Interpretations",
            *(
                line
                for n in range(1, 10)
                for line in (f"§ 1002.{n} Heading {n}.", f"A creditor shall keep record {n}.")
            ),
            "Appendix A to Part 1002—Federal Agencies To Be Listed",
            "The following list names the agencies.",
            "Appendix B to Part 1002—Model Application Forms",
            "1. This appendix contains four model forms.",
            "Supplement I to Part 1002—Official Interpretations",
            "Introduction. The commentary is the Bureau's interpretation.",
            "Appendix A—Federal Agencies To Be Listed",
            "1. Comment on Appendix A.",
            "APPENDIX C: EXEMPT OFFER CRITERIA",
            "An exhibit of a guidance note.",
        ]
    )
    units = {u.label: u for u in split_provisions(body)}
    assert list(units) == [
        "preamble",
        *(f"§ 1002.{n}" for n in range(1, 10)),
        "Appendix A",
        "Appendix B",
        "Supplement I",
        "Appendix C",
    ]
    assert units["§ 1002.9"].blocks == ["§ 1002.9 Heading 9.", "A creditor shall keep record 9."]
    assert units["Appendix B"].blocks == [
        "Appendix B Model Application Forms",
        "1. This appendix contains four model forms.",
    ]
    assert units["Supplement I"].blocks[-2:] == [
        "Appendix A—Federal Agencies To Be Listed",
        "1. Comment on Appendix A.",
    ]
    assert "Supplement I to Part 1002" in units["preamble"].blocks  # a contents entry


def test_a_provision_numbered_otherwise_than_the_body_after_a_supplement_heading_is_labelled_as_part_of_it():
    # the official interpretations restate the rule's sections as "Section 1002.9" and comment on "9(b)": cited as
    # "§ 1002.9" or "9(b)" they would read as the rule's own text
    body = "\n".join(
        [
            *(f"§ 1002.{n} Heading {n}.\nText of rule {n}." for n in range(1, 10)),
            "Supplement I to Part 1002—Official Interpretations",
            "Introduction.",
            "Section 1002.9—Notifications",
            "1. General comment on notifications.",
            "9(b) Form of ECOA notice and statement of specific reasons.",
            "1. The reasons must be specific.",
        ]
    )
    labels = [u.label for u in split_provisions(body)]
    assert labels[-4:] == ["§ 1002.9", "Supplement I", "Supplement I, Section 1002.9", "Supplement I, 9(b)"]


def test_an_annex_heading_before_any_provision_does_not_claim_the_body():
    body = "\n".join(["Introduction", "ANNEX 2", *(f"Article {n}\nText of article {n}." for n in range(1, 10))])
    labels = [u.label for u in split_provisions(body)]
    assert labels[-9:] == [f"Article {n}" for n in range(1, 10)]


def test_the_body_numbering_going_on_after_an_annex_leaves_the_annex():
    body = "\n".join(
        [
            *(f"3.{n}.1 Rule {n} of chapter 3.\nIts text." for n in range(1, 9)),
            "Annex 1 to Chapter 3",
            "A form to fill in.",
            "4.1.1 The first rule of chapter 4.",
            "Its text.",
        ]
    )
    labels = [u.label for u in split_provisions(body)]
    assert labels[-3:] == ["3.8.1", "Annex 1", "4.1.1"]


def test_appendix_letters_rise_past_i_and_a_wrapped_mention_is_text():
    lines = [
        *(f"§ 1002.{n} Heading {n}." for n in range(1, 10)),
        "The notice required by this part is set out in",
        "Appendix C.",  # a wrapped line of § 1002.9, not a heading
        *(f"APPENDIX {letter} TO PART 1002—Form {letter}" for letter in "ABCDEFGHIJ"),
        "Supplement I to Part 1002—Official Interpretations",
    ]
    labels = [p.label for p in find_provisions(lines)]
    assert labels == [f"§ 1002.{n}" for n in range(1, 10)] + [f"Appendix {x}" for x in "ABCDEFGHIJ"] + ["Supplement I"]


def test_a_number_joined_to_its_title_by_a_dash_opens_a_provision():
    lines = ["Section 1002.102—Definitions", "1. Comment text.", "Section 1002.103—Covered Applications"]
    assert [(p.label, p.text) for p in find_provisions(lines)] == [
        ("Section 1002.102", "Definitions"),
        ("Section 1002.103", "Covered Applications"),
    ]


def test_the_splitter_picks_the_scheme_and_chunks_carry_locators():
    doc = _doc(RULEBOOK)
    assert detect_scheme(doc, blocks_of(doc.body)) == "numbered-provisions"
    chunks = chunk_document(doc, max_chars_en=80)
    units = {c.unit for c in chunks}
    assert {"1.2.1", "2.1.1", "2.2.1.(1)", "5A.1.1"} <= units
    assert all(c.unit != "1.2" for c in chunks)
    pieces = [c for c in chunks if c.unit == "2.1.1"]
    assert len(pieces) >= 2 and any("(b)" in c.locator for c in pieces), [c.locator for c in pieces]


def test_a_few_numbered_lines_do_not_make_a_rulebook():
    body = "A short note.\n\n1.1 First point.\n\n1.2 Second point.\n\nClosing words."
    doc = _doc(body)
    assert detect_scheme(doc, blocks_of(doc.body)) != "numbered-provisions"
