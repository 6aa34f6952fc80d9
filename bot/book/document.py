"""The record book as a DOCX: cover, contents, roster, one record per activity, the year's
compliance, trainings, grading and rectification, and the year's Party dues, with page numbers.

`render_book` takes only picklable data and returns bytes, so it runs in a worker thread or
process. Standard styles (Title, Heading 1-2, Table Grid, Caption) carry the structure, so
Word, WPS and LibreOffice build the table of contents from the headings.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm
from docx.text.paragraph import Paragraph

from bot.book import images, ooxml
from bot.book.model import ActivityRecord, BookFacts, Copy
from bot.book.sections import Sections
from bot.i18n import Translator

TEXT_WIDTH_CM = 16.0
PHOTO_WIDTH_CM = 14.0
PHOTO_MAX_HEIGHT_CM = 12.0
_PLACEHOLDER = re.compile(r"\{(page|pages)\}")


class BookWriter:
    """Writes one book into a python-docx Document."""

    def __init__(self, facts: BookFacts, copy: Copy) -> None:
        self.facts = facts
        self.copy = copy
        self.tr = Translator(copy.locale, copy.time_zone)
        self._ = self.tr._
        self.doc = docx.Document()
        self.headings: list[tuple[int, str]] = []
        self._toc_end: Paragraph | None = None
        self.photo_number = 0

    # ---- the document's frame --------------------------------------------------------------

    def setup(self) -> None:
        """A4 pages, fonts for Chinese and Latin text, black headings, the page footer."""
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.5)
        styles = self.doc.styles
        ooxml.set_languages(self.doc, self.copy.locale)
        ooxml.set_fonts(styles["Normal"], ooxml.BODY_FONTS, size_pt=11)
        for name, size in (("Title", 24), ("Subtitle", 16), ("Heading 1", 16), ("Heading 2", 13)):
            ooxml.set_fonts(styles[name], ooxml.HEADING_FONTS, size_pt=size)
            ooxml.black_text(styles[name])
        ooxml.black_text(styles["Caption"])
        self._footer()

    def _footer(self) -> None:
        paragraph = self.doc.sections[0].footer.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        text = self._("Page {page} of {pages}")
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            if match.start() > position:
                paragraph.add_run(text[position : match.start()])
            ooxml.add_field(paragraph, "PAGE" if match.group(1) == "page" else "NUMPAGES", "1")
            position = match.end()
        if position < len(text):
            paragraph.add_run(text[position:])

    def heading(self, text: str, level: int, *, new_page: bool = False) -> None:
        """A heading the table of contents lists."""
        ooxml.append_xml(self.doc, ooxml.p_xml(text, style=f"Heading{level}", page_break=new_page))
        self.headings.append((level, text))

    def paragraph(
        self, text: str = "", *, italic: bool = False, bold: bool = False, center: bool = False
    ) -> None:
        """A body paragraph."""
        ooxml.append_xml(self.doc, ooxml.p_xml(text, italic=italic, bold=bold, center=center))

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A bordered table whose header row repeats on every page it spans."""
        markup = ooxml.tbl_xml([header, *rows], widths, header=True, label_column=False)
        ooxml.append_xml(self.doc, markup)

    def fields(self, rows: Sequence[tuple[str, str]]) -> None:
        """A two-column table of labels and values."""
        widths = (3.5, TEXT_WIDTH_CM - 3.5)
        ooxml.append_xml(self.doc, ooxml.tbl_xml(rows, widths, header=False, label_column=True))

    # ---- the parts that are not sections ---------------------------------------------------

    def cover(self) -> None:
        """Branch, year, leaders; whose copy this is."""
        _ = self._
        facts = self.facts
        for _blank in range(4):
            self.doc.add_paragraph()
        title = self.doc.add_paragraph(ooxml.xml_text(facts.name(self.tr.locale)), "Title")
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        subtitle = self.doc.add_paragraph(
            _("Record book {year}").format(year=facts.year), "Subtitle"
        )
        subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for _blank in range(3):
            self.doc.add_paragraph()
        lines = [_("Branch code: {code}").format(code=facts.branch_code)]
        lines.extend(Sections(self).leader_lines())
        lines.append(
            _("Produced by Zhibu on {date}, from the activity log as recorded.").format(
                date=self.tr.date(facts.today)
            )
        )
        if self.copy.with_reasons:
            lines.append(
                _(
                    "This copy names the reasons for absences: keep it within the branch "
                    "committee and the higher committee."
                )
            )
        for line in lines:
            self.paragraph(line, center=True)

    def contents(self) -> None:
        """The table of contents, on its own page (its entries are added at the end)."""
        heading = self.doc.add_paragraph(ooxml.xml_text(self._("Contents")), "TOC Heading")
        heading.paragraph_format.page_break_before = True
        ooxml.add_toc(self.doc, [], hint=self._toc_hint())
        self._toc_end = self.doc.paragraphs[-1]

    def _toc_hint(self) -> str:
        return self._(
            "Page numbers appear when the word processor updates this table "
            "(Word and WPS: right-click it, Update Field; LibreOffice: Tools, Update)."
        )

    def fill_contents(self) -> None:
        """List the headings written, before the contents' hint."""
        if self._toc_end is None:
            return
        end = self._toc_end._p
        for level, title in self.headings:
            entry = ooxml.p_xml(title, indent_cm=0.75 * (level - 1))
            end.addprevious(ooxml.parse_fragment(entry))

    # ---- one activity ---------------------------------------------------------------------

    def photo(self, file_id: str) -> None:
        """An embedded photo with its number, or why it is not embedded."""
        _ = self._
        self.photo_number += 1
        number = self.photo_number
        data = self.copy.photos.get(file_id)
        printable = images.for_print(data) if data else None
        if printable is None:
            note = "missing" if data else self.copy.notes.get(file_id, self.copy.photo_note)
            reason = {
                "missing": _("Photo {number}: it could not be downloaded from Telegram."),
                "cli": _(
                    "Photo {number}: photo not embedded (the command line has no bot to "
                    "download it with); the book from /book in the bot includes it."
                ),
                "collection": _(
                    "Photo {number}: photo not embedded in a collection of books; the "
                    "branch's own book from /book includes it."
                ),
                "limit": _(
                    "Photo {number}: photo not embedded, to keep the book within "
                    "Telegram's 50 MB limit for files."
                ),
            }[note]
            self.paragraph(reason.format(number=number), italic=True)
            return
        jpeg, ratio = printable
        width = min(PHOTO_WIDTH_CM, PHOTO_MAX_HEIGHT_CM / ratio)
        holder = self.doc.add_paragraph()
        holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
        holder.add_run().add_picture(io.BytesIO(jpeg), width=Cm(width))
        caption = _("Photo {number}").format(number=number)
        ooxml.append_xml(self.doc, ooxml.p_xml(caption, style="Caption", center=True))

    def activity(self, record: ActivityRecord, *, new_page: bool) -> None:
        """One activity as its own record (from a new page but for the first)."""
        sections = Sections(self)
        self.heading(sections.activity_title(record), 2, new_page=new_page)
        self.fields(sections.activity_rows(record))
        if record.minutes:
            self.paragraph(self._("Minutes"), bold=True)
            for line in record.minutes.splitlines() or [record.minutes]:
                self.paragraph(line)
        for photo in record.photos:
            self.photo(photo.file_id)

    # ---- the whole book -------------------------------------------------------------------

    def write(self) -> bytes:
        """The book as DOCX bytes."""
        self.setup()
        self.cover()
        self.contents()
        sections = Sections(self)
        sections.roster()
        self.heading(self._("Activities"), 1, new_page=True)
        if not self.facts.activities:
            self.paragraph(
                self._("No activities were logged in {year}.").format(year=self.facts.year)
            )
        for index, record in enumerate(self.facts.activities):
            self.activity(record, new_page=index > 0)
        sections.compliance()
        sections.trainings()
        sections.grading()
        sections.rectification()
        sections.dues()
        self.fill_contents()
        ooxml.update_fields_on_open(self.doc)
        ooxml.drop_unused_parts(self.doc)
        core = self.doc.core_properties
        core.title = f"{self.facts.name(self.tr.locale)} {self.facts.year}"
        core.author = core.last_modified_by = "Zhibu"
        core.comments = ""
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def render_book(facts: BookFacts, copy: Copy) -> bytes:
    """One branch's record book for one reader, as DOCX bytes (runs in a worker)."""
    return BookWriter(facts, copy).write()


def render_books(jobs: Sequence[tuple[BookFacts, Copy]]) -> list[bytes]:
    """Several books in one call (one round trip to a worker process per chunk)."""
    return [render_book(facts, copy) for facts, copy in jobs]
