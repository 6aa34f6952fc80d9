"""The few WordprocessingML details python-docx has no API for: East Asian fonts and language,
complex fields (PAGE, NUMPAGES, TOC) and asking the reader's word processor to update them.

Only standard markup that Microsoft Word, WPS Office and LibreOffice all read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from docx.document import Document
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph

# What Chinese editions of Word and WPS ship and LibreOffice maps to any installed CJK font:
# 宋体 (SimSun) for text, 黑体 (SimHei) for headings.
BODY_FONTS = ("Times New Roman", "宋体")
HEADING_FONTS = ("Arial", "黑体")

# XML 1.0 forbids most control characters; a stray one in typed text would fail the document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Typed text that XML can hold (control characters dropped)."""
    return _NOT_XML.sub("", text)


def _child(parent: Any, tag: str, *, first: bool = False) -> Any:
    """The child element `tag` of `parent`, created when missing."""
    element = parent.find(qn(tag))
    if element is None:
        element = OxmlElement(tag)
        if first:
            parent.insert(0, element)
        else:
            parent.append(element)
    return element


def set_fonts(style: BaseStyle, fonts: tuple[str, str], *, size_pt: float | None = None) -> None:
    """Latin and East Asian fonts of a style, replacing the theme's (which would win)."""
    r_pr = style.element.get_or_add_rPr()
    r_fonts = _child(r_pr, "w:rFonts", first=True)
    for name in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        r_fonts.attrib.pop(qn(name), None)
    latin, east_asian = fonts
    for name, value in (
        ("w:ascii", latin),
        ("w:hAnsi", latin),
        ("w:cs", latin),
        ("w:eastAsia", east_asian),
    ):
        r_fonts.set(qn(name), value)
    if size_pt is not None:
        for name in ("w:sz", "w:szCs"):
            _child(r_pr, name).set(qn("w:val"), str(round(size_pt * 2)))


def set_languages(document: Document, locale: str) -> None:
    """The document's languages: the reader's for Latin text, Chinese for East Asian text
    (so word processors pick a CJK font and Chinese line breaking)."""
    styles = document.styles.element
    doc_defaults = _child(styles, "w:docDefaults", first=True)
    r_pr_default = _child(doc_defaults, "w:rPrDefault", first=True)
    r_pr = _child(r_pr_default, "w:rPr")
    lang = _child(r_pr, "w:lang")
    lang.set(qn("w:val"), "en-GB" if locale == "en" else "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")


def black_text(style: BaseStyle) -> None:
    """Plain black text instead of the template's theme colour (a record book is printed)."""
    r_pr = style.element.get_or_add_rPr()
    color = _child(r_pr, "w:color")
    for name in ("w:themeColor", "w:themeShade", "w:themeTint"):
        color.attrib.pop(qn(name), None)
    color.set(qn("w:val"), "000000")


def _field_char(paragraph: Paragraph, kind: str, *, dirty: bool = False) -> None:
    run = paragraph.add_run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if dirty:
        char.set(qn("w:dirty"), "true")
    run._r.append(char)


def _instruction(paragraph: Paragraph, instruction: str) -> None:
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)


def add_field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """A complex field (PAGE, NUMPAGES...) with `shown` as its result until it is updated."""
    _field_char(paragraph, "begin")
    _instruction(paragraph, instruction)
    _field_char(paragraph, "separate")
    paragraph.add_run(shown)
    _field_char(paragraph, "end")


def add_toc(
    document: Document, entries: Sequence[tuple[int, str]], *, levels: int = 2, hint: str
) -> None:
    """A TOC field over the heading styles (levels 1..`levels`). Until the word processor
    updates it (Word and WPS ask on opening: see `update_fields_on_open`), it shows the
    headings without page numbers, then `hint`."""
    first = document.add_paragraph()
    _field_char(first, "begin", dirty=True)
    _instruction(first, f'TOC \\o "1-{levels}" \\h \\z \\u')
    _field_char(first, "separate")
    paragraph = first
    for index, (level, title) in enumerate(entries):
        if index:
            paragraph = document.add_paragraph()
        paragraph.paragraph_format.left_indent = Cm(0.75 * (level - 1))
        paragraph.add_run(xml_text(title))
    last = document.add_paragraph()
    hint_run = last.add_run(hint)
    hint_run.italic = True
    _field_char(last, "end")


def update_fields_on_open(document: Document) -> None:
    """Ask the word processor to update the fields (the TOC's page numbers) when opened."""
    settings = document.settings.element
    update = _child(settings, "w:updateFields")
    update.set(qn("w:val"), "true")


# ---- body content as markup -------------------------------------------------------------------
# python-docx's object API looks styles up by name and walks the tree for every call: a book
# of a thousand tables took seconds. Paragraphs and tables are written as markup and parsed
# once each, with the styles' ids (those of python-docx's default template).

TWIPS_PER_CM = 567
_W = nsdecls("w")


def _runs(text: str, *, bold: bool = False, italic: bool = False) -> str:
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "")
    r_pr = f"<w:rPr>{props}</w:rPr>" if props else ""
    lines = [escape(line) for line in xml_text(text).split("\n")]
    body = "<w:br/>".join(f'<w:t xml:space="preserve">{line}</w:t>' for line in lines)
    return f"<w:r>{r_pr}{body}</w:r>" if text else ""


def p_xml(
    text: str = "",
    *,
    style: str | None = None,
    bold: bool = False,
    italic: bool = False,
    page_break: bool = False,
    center: bool = False,
    indent_cm: float = 0,
) -> str:
    """A paragraph's markup (without the namespace declaration)."""
    props = f'<w:pStyle w:val="{style}"/>' if style else ""
    props += "<w:pageBreakBefore/>" if page_break else ""
    props += f'<w:ind w:left="{round(indent_cm * TWIPS_PER_CM)}"/>' if indent_cm else ""
    props += '<w:jc w:val="center"/>' if center else ""
    p_pr = f"<w:pPr>{props}</w:pPr>" if props else ""
    return f"<w:p>{p_pr}{_runs(text, bold=bold, italic=italic)}</w:p>"


def tbl_xml(
    rows: Sequence[Sequence[str]], widths_cm: Sequence[float], *, header: bool, label_column: bool
) -> str:
    """A bordered table (style Table Grid) of text cells; the first row is a header repeated
    on every page when `header`, the first column bold labels when `label_column`."""
    widths = [round(width * TWIPS_PER_CM) for width in widths_cm]
    grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
    parts = [
        '<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
        # tblLook by its hex value only: Word 2007 refuses the later, spelt-out attributes.
        '<w:jc w:val="center"/><w:tblLook w:val="04A0"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>"
    ]
    for index, row in enumerate(rows):
        is_header = header and index == 0
        parts.append("<w:tr><w:trPr><w:tblHeader/></w:trPr>" if is_header else "<w:tr>")
        for column, (text, width) in enumerate(zip(row, widths, strict=True)):
            bold = is_header or (label_column and column == 0)
            parts.append(
                f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>'
                f"<w:p>{_runs(text, bold=bold)}</w:p></w:tc>"
            )
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def parse_fragment(fragment: str) -> Any:
    """The element of a paragraph's or table's markup."""
    # The namespace goes on the first tag: "<w:p>" / "<w:tbl>" becomes "<w:p xmlns:w=...>".
    first_tag_end = fragment.index(">")
    return parse_xml(f"{fragment[:first_tag_end]} {_W}{fragment[first_tag_end:]}")


def append_xml(document: Document, *fragments: str) -> None:
    """Add paragraphs and tables given as markup at the end of the body."""
    body = document.element.body
    for fragment in fragments:
        element = parse_fragment(fragment)
        if element.tag == qn("w:tbl"):
            body._insert_tbl(element)
        else:
            body._insert_p(element)


# Parts of python-docx's template that a record book does not use: Word 2010's second copy of
# the styles, a customXml bibliography stub, and a thumbnail of an empty page that file
# managers would show as the book's preview. Without them a book is ~15 kB smaller, which
# counts in a ZIP of a thousand.
_UNUSED_DOCUMENT_PARTS = ("/stylesWithEffects", "/customXml", "/webSettings")
_UNUSED_PACKAGE_PARTS = ("/thumbnail",)


def drop_unused_parts(document: Document) -> None:
    """Leave the template's unused parts out of the saved file."""
    for rels, kinds in (
        (document.part.rels, _UNUSED_DOCUMENT_PARTS),
        (document.part.package.rels, _UNUSED_PACKAGE_PARTS),
    ):
        for rel_id, rel in list(rels.items()):
            if rel.reltype.endswith(kinds):
                del rels[rel_id]
