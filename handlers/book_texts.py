"""Texts of /book: the picker, progress, refusals and captions, in the reader's language."""

from __future__ import annotations

from bot.book.build import MAX_COLLECTION, UPLOAD_LIMIT
from bot.book.model import FIRST_YEAR
from bot.i18n import Translator
from handlers.common import escape


def usage(tr: Translator, this_year: int) -> str:
    """How to ask for a book."""
    return tr._(
        "Send /book for this year's record book of your branch, or /book YEAR (from {first} "
        "to {last}). Admins may add part of a branch's name or code to search: "
        "/book {last} 第一"
    ).format(first=FIRST_YEAR, last=this_year)


def bad_year(tr: Translator, this_year: int) -> str:
    """A year out of range."""
    return tr._("Record books exist for the years {first} to {last}.").format(
        first=FIRST_YEAR, last=this_year
    )


def which_branch(tr: Translator, year: int) -> str:
    """A leader of several branches chooses one."""
    return tr._("Which branch's record book for {year}?").format(year=year)


def picker(tr: Translator, year: int, total: int, page_caption: str, text: str | None) -> str:
    """The admin's branch picker."""
    lines = [tr._("<b>Record books {year}</b>").format(year=year)]
    if text:
        lines.append(
            tr.ngettext(
                "{count} branch matches “{text}”.",
                "{count} branches match “{text}”.",
                total,
            ).format(count=total, text=escape(text))
        )
    else:
        lines.append(
            tr.ngettext(
                "{count} branch in your part of the organisation.",
                "{count} branches in your part of the organisation.",
                total,
            ).format(count=total)
        )
    if page_caption:
        lines.append(page_caption)
    lines.append(
        tr._(
            "Choose a branch; to find one, send /book {year} with part of its name or code. "
            "Below: every branch's book in one ZIP, or a spot check of branches chosen at random."
        ).format(year=year)
    )
    return "\n".join(lines)


def more_matches(tr: Translator, shown: int) -> str:
    """Search results past the first page."""
    return tr._("Only the first {shown} are shown: add more of the name to narrow it.").format(
        shown=shown
    )


def subtree_button(tr: Translator, name: str, count: int) -> str:
    """The button for a whole subtree's books."""
    return tr.ngettext(
        "All of {name}: {count} book (ZIP)", "All of {name}: {count} books (ZIP)", count
    ).format(name=name, count=count)


def sample_button(tr: Translator, size: int) -> str:
    """A spot check button."""
    return tr._("Spot check: {size} at random").format(size=size)


def building(tr: Translator, name: str, year: int, activities: int, photos: int) -> str:
    """The progress message of a long book."""
    return tr._(
        "Building the record book of {name} for {year}: {activities} activities, "
        "{photos} photos. Downloading the photos…"
    ).format(name=escape(name), year=year, activities=activities, photos=photos)


def writing(tr: Translator, name: str, year: int) -> str:
    """The progress message once the photos are in."""
    return tr._("Writing the record book of {name} for {year}…").format(
        name=escape(name), year=year
    )


def book_caption(tr: Translator, name: str, year: int) -> str:
    """The caption of one book."""
    return tr._(
        "Record book of {name} for {year}. Word and WPS ask to update the fields when it "
        "opens: say yes to get the contents' page numbers."
    ).format(name=escape(name), year=year)


def too_large(tr: Translator) -> str:
    """A book or a ZIP past Telegram's limit."""
    return tr._(
        "That comes to more than the {size} MB Telegram lets a bot send in one file, so "
        "nothing was sent. Ask for a smaller part of the organisation, or for single branches."
    ).format(size=UPLOAD_LIMIT // 1_000_000)


def too_many(tr: Translator, count: int) -> str:
    """A subtree past the collection limit."""
    return tr._(
        "{count} branches are more than one collection may hold ({limit}). Choose a smaller "
        "part of the organisation, or a spot check."
    ).format(count=count, limit=MAX_COLLECTION)


def no_branches(tr: Translator) -> str:
    """An empty subtree or search."""
    return tr._("There are no branches there.")


def busy(tr: Translator) -> str:
    """A second collection while one is being built."""
    return tr._("Your earlier request is still being built; it comes as soon as it is ready.")


def collection_progress(tr: Translator, title: str, done: int, total: int) -> str:
    """The progress message of a collection, edited as it goes."""
    return tr._("{title}: {done} of {total} record books written…").format(
        title=escape(title), done=done, total=total
    )


def collection_done(tr: Translator, title: str, total: int) -> str:
    """The progress message once the ZIP is sent."""
    return tr._("{title}: all {total} record books written; the ZIP follows.").format(
        title=escape(title), total=total
    )


def collection_failed(tr: Translator, title: str) -> str:
    """A collection that failed for a reason of ours."""
    return tr._(
        "{title}: something went wrong on our side; nothing was sent. Please try again."
    ).format(title=escape(title))


def subtree_title(tr: Translator, name: str, year: int) -> str:
    """What a subtree collection is called in its messages."""
    return tr._("Record books of {name} for {year}").format(name=name, year=year)


def sample_title(tr: Translator, name: str, year: int, size: int) -> str:
    """What a spot check is called in its messages."""
    return tr._("Spot check of {size} branches of {name} for {year}").format(
        name=name, year=year, size=size
    )


def collection_caption(tr: Translator, title: str) -> str:
    """The caption of the ZIP."""
    return tr._("{title}: one DOCX per branch.").format(title=escape(title))
