"""The sections of the record book and the fields of one activity, in the reader's language."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from bot.activities import ABSENCE_REASONS, KIND_LABELS, AbsenceReason, known_kinds
from bot.book.labels import (
    PERIOD_WORDS,
    ROLE_NAMES,
    STATUS_NAMES,
    TRAINING_KINDS,
    short_date,
    short_period,
)
from bot.book.model import ActivityRecord, ComplianceRow, PeriodState
from bot.enums import PersonStatus, Role
from bot.grading.scoring import GRADE_NAMES
from bot.rules.calendar import ObligationState, PeriodKind
from bot.rules.dues import format_amount

if TYPE_CHECKING:
    from bot.book.document import BookWriter

_REASONS = {reason.value: reason for reason in AbsenceReason}


class Sections:
    """Writes the book's sections through a BookWriter."""

    def __init__(self, writer: BookWriter) -> None:
        self.w = writer
        self.facts = writer.facts
        self.tr = writer.tr
        self._ = writer.tr._

    # ---- small texts ----------------------------------------------------------------------

    def _list(self, items: list[str]) -> str:
        return self._(", ").join(items) if items else "—"

    def kinds(self, values: tuple[str, ...]) -> str:
        """Kind names joined in the reader's language."""
        return self._list([self._(KIND_LABELS[kind]) for kind in known_kinds(list(values))])

    def leader_lines(self) -> list[str]:
        """Who leads the branch, for the cover."""
        _ = self._
        by_role: dict[Role, list[str]] = {}
        for entry in self.facts.leaders:
            by_role.setdefault(entry.role, []).append(entry.name)
        lines = [
            _("Branch secretary: {names}").format(names=self._list(by_role.get(Role.SECRETARY, [])))
        ]
        if by_role.get(Role.DEPUTY):
            lines.append(
                _("Deputy secretary: {names}").format(names=self._list(by_role[Role.DEPUTY]))
            )
        return lines

    def absences(self, record: ActivityRecord) -> str:
        """Absentees, with their reasons only in a leader's or admin's copy."""
        names = []
        for absence in record.absences:
            reason = _REASONS.get(absence.reason or "") if absence.reason else None
            if self.w.copy.with_reasons and absence.reason:
                label = self._(ABSENCE_REASONS[reason or AbsenceReason.OTHER])
                names.append(self._("{name} ({reason})").format(name=absence.name, reason=label))
            else:
                names.append(absence.name)
        return self._list(names)

    def activity_title(self, record: ActivityRecord) -> str:
        """The record's heading: date and kinds, marked when void."""
        title = self._("{date}: {kinds}").format(
            date=self.tr.date(record.day), kinds=self.kinds(record.kinds)
        )
        if record.voided:
            title = self._("{title} (void)").format(title=title)
        return title

    def activity_rows(self, record: ActivityRecord) -> list[tuple[str, str]]:
        """The record's fields as (label, value)."""
        _ = self._
        day = self.tr.date(record.day)
        if record.time is not None:
            day = _("{date}, {time}").format(date=day, time=self.tr.clock(record.time))
        if record.late:
            day = _("{date} (logged late)").format(date=day)
        rows = [(_("Kind"), self.kinds(record.kinds)), (_("Date"), day)]
        if record.party_group:
            rows.append((_("Party group"), record.party_group))
        rows.append((_("Place"), record.place or "—"))
        rows.append((_("Topic"), record.topic))
        rows.append(
            (
                _("Attendance"),
                _("{present} present out of {expected} expected").format(
                    present=record.present, expected=record.expected
                ),
            )
        )
        if record.present_names is not None:
            rows.append((_("Present"), self._list(list(record.present_names))))
        else:
            rows.append((_("Present"), _("not recorded by name")))
        rows.append((_("Absent"), self.absences(record)))
        documents = [a.name or a.file_id for a in record.attachments if a.kind == "document"]
        if documents:
            rows.append((_("Documents"), self._list(documents)))
        if record.photos:
            rows.append((_("Photos"), str(len(record.photos))))
        if record.voided:
            rows.append((_("Void"), record.void_reason or "—"))
        return rows

    # ---- sections -------------------------------------------------------------------------

    def roster(self) -> None:
        """Who is on the roster, with their role and status."""
        _ = self._
        w = self.w
        w.heading(_("Branch and roster"), 1, new_page=True)
        counts = Counter(entry.status for entry in self.facts.roster)
        w.paragraph(
            _(
                "{total} people on the roster: {regular} regular, {mobile} mobile, "
                "{lost} lost contact."
            ).format(
                total=len(self.facts.roster),
                regular=counts[PersonStatus.REGULAR],
                mobile=counts[PersonStatus.MOBILE],
                lost=counts[PersonStatus.LOST_CONTACT],
            )
        )
        for line in self.leader_lines():
            w.paragraph(line)
        rows = [
            [entry.name, _(ROLE_NAMES[entry.role]), _(STATUS_NAMES[entry.status])]
            for entry in self.facts.roster
        ]
        if rows:
            w.table([_("Name"), _("Role"), _("Status")], rows, (6, 5, 5))

    def _periods(self, states: list[PeriodState], *, dates: bool = False) -> str:
        items = []
        for state in states:
            label = short_period(self.tr, state.kind, state.start)
            if dates and state.dates:
                shown = self._list([short_date(self.tr, day) for day in state.dates])
                label = self._("{period} ({dates})").format(period=label, dates=shown)
            items.append(label)
        return self._list(items)

    def _compliance_row(self, row: ComplianceRow) -> list[str]:
        _ = self._
        by_state: dict[str, list[PeriodState]] = {}
        for state in row.periods:
            by_state.setdefault(state.state, []).append(state)
        requirement = _("at least {count} per {period}").format(
            count=row.min_count, period=_(PERIOD_WORDS[row.period])
        )
        if row.rule_key == "group_meeting":
            requirement = _("{requirement}, each party group").format(requirement=requirement)
        name = self.kinds((row.kind,))
        return [
            name,
            requirement,
            self._periods(by_state.get(ObligationState.DONE.value, []), dates=True),
            self._periods(by_state.get(ObligationState.OVERDUE.value, [])),
            self._periods(by_state.get(ObligationState.DUE.value, [])),
        ]

    def compliance(self) -> None:
        """The year's obligations: periods done (with dates), missed, still open."""
        _ = self._
        w = self.w
        w.heading(_("The year's activity calendar"), 1, new_page=True)
        w.paragraph(
            _(
                "Judged on {date} against the calendar rules in force for the branch; "
                "void entries do not count."
            ).format(date=self.tr.date(min(self.facts.today, _year_end(self.facts.year))))
        )
        header = [_("Obligation"), _("Rule"), _("Held"), _("Missed"), _("Still open")]
        rows = [self._compliance_row(row) for row in self.facts.compliance]
        w.table(header, rows, (3.2, 3.0, 4.6, 2.8, 2.4))

    def trainings(self) -> None:
        """Trainings people of the branch attended in the year."""
        _ = self._
        w = self.w
        w.heading(_("Trainings attended during the year"), 1, new_page=True)
        if not self.facts.trainings:
            w.paragraph(_("None recorded in {year}.").format(year=self.facts.year))
            return
        rows = [
            [
                record.person,
                record.title,
                _(TRAINING_KINDS.get(record.kind, TRAINING_KINDS["rotation"])),
                self.tr.date(record.day),
            ]
            for record in self.facts.trainings
        ]
        w.table([_("Name"), _("Training"), _("Kind"), _("Date")], rows, (3, 6, 3.5, 3.5))

    def grading(self) -> None:
        """The branch's classification and grading in the year's campaigns."""
        _ = self._
        w = self.w
        w.heading(_("Classification and grading"), 1)
        if not self.facts.grading:
            w.paragraph(
                _("No grading campaign of {year} included the branch.").format(year=self.facts.year)
            )
            return
        rows = []
        for record in self.facts.grading:
            own = (
                self.tr.number(round(record.self_score, 1))
                if record.self_score is not None
                else "—"
            )
            if record.finalised:
                final = self.tr.number(round(record.final_score or 0, 1))
                grade = (
                    _(GRADE_NAMES[record.grade])
                    if record.grade in GRADE_NAMES
                    else (record.grade or "—")
                )
            else:
                final, grade = "—", _("not decided yet")
            rows.append([own, final, grade])
        w.table([_("Self-assessment"), _("Final score"), _("Grade")], rows, (5.3, 5.3, 5.4))

    def rectification(self) -> None:
        """Rectification items: problem, measures, deadline, who, and whether done."""
        _ = self._
        w = self.w
        w.heading(_("Rectification"), 1)
        if not self.facts.rectification:
            w.paragraph(_("No rectification items."))
            return
        rows = []
        for item in self.facts.rectification:
            if item.done and item.done_on is not None:
                status = _("done on {date}").format(date=short_date(self.tr, item.done_on))
            else:
                status = _("open")
            rows.append(
                [item.problem, item.measures, self.tr.date(item.due_on), item.responsible, status]
            )
        header = [_("Problem"), _("Measures"), _("Deadline"), _("Responsible"), _("Status")]
        w.table(header, rows, (3.5, 5.5, 2.5, 2.3, 2.2))

    def dues(self) -> None:
        """The year's Party dues from the ledger: totals per month and for the year, never a
        member's amount (what the branch's yearly account publishes to its members)."""
        _ = self._
        w = self.w
        summary = self.facts.dues
        w.heading(_("Party dues"), 1, new_page=True)
        if summary is None:
            w.paragraph(_("No Party dues recorded for {year}.").format(year=self.facts.year))
            return
        w.paragraph(
            _("Totals from the dues ledger as of {date}; no member's amount is shown.").format(
                date=self.tr.date(min(self.facts.today, _year_end(self.facts.year)))
            )
        )
        header = [
            _("Month"),
            _("Members owing"),
            _("Members who paid"),
            _("Due (yuan)"),
            _("Collected (yuan)"),
        ]
        rows = [
            [
                short_period(self.tr, PeriodKind.MONTH.value, dt.date(self.facts.year, m.month, 1)),
                str(m.owing),
                str(m.paid),
                format_amount(m.due_fen),
                format_amount(m.collected_fen),
            ]
            for m in summary.months
        ]
        w.table(header, rows, (2.6, 3.2, 3.2, 3.5, 3.5))
        w.paragraph(
            _(
                "The year: {amount} yuan collected for its months; members who paid: {payers} "
                "of {members}; months in arrears: {arrears}."
            ).format(
                amount=format_amount(summary.collected_fen),
                payers=summary.payers,
                members=summary.members,
                arrears=summary.arrears_months,
            )
        )
        if summary.published_on is not None:
            w.paragraph(
                _("The yearly account was published to the members on {date}.").format(
                    date=self.tr.date(summary.published_on)
                )
            )
        else:
            w.paragraph(_("The yearly account has not been published to the members yet."))


def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)
