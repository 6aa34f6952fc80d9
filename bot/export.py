"""`/mydata`: everything stored about one person, as one JSON document.

Only the person's own data: other people appear at most as the code of a node. Satisfaction
answers are anonymous and cannot be linked to anyone, so only *that* the person took part is
listed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules.dues import format_amount, month_key
from storage import dues_queries as dq
from storage import meeting_queries, queries
from storage import privacy_queries as pq
from storage.models import Account, OrgUnit, Person


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _account(account: Account) -> dict[str, Any]:
    return {
        "telegram_id": account.telegram_id,
        "username": account.username,
        "telegram_language": account.telegram_language,
        "language": account.locale,
        "time_zone": account.time_zone,
        "privacy_notice_accepted_at": _iso(account.consented_at),
        "created_at": _iso(account.created_at),
        "unreachable_since": _iso(account.unreachable_since),
    }


async def _person(session: AsyncSession, person: Person) -> dict[str, Any]:
    branch = await session.get(OrgUnit, person.branch_id) if person.branch_id else None
    left = await session.get(OrgUnit, person.left_branch_id) if person.left_branch_id else None
    return {
        "name": person.name,
        "phone": person.phone,
        "status": person.status.value,
        "joined_party_on": _iso(person.joined_on),
        "branch": {"code": branch.code, "name": branch.name} if branch else None,
        "left_branch": {"code": left.code, "left_at": _iso(person.left_at)} if left else None,
        "on_record_since": _iso(person.created_at),
    }


async def _roles(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    return [
        {
            "role": a.role.value,
            "org": a.org_unit.code,
            "since": _iso(a.created_at),
            # A committee member's post, where there is one.
            **({"post": a.post.value} if a.post else {}),
        }
        for a in await queries.roles_of(session, person.id)
    ]


async def _activities(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """The activities of the person's branch(es): absent as recorded, or not recorded absent
    (the log counts who was present; it names only those absent)."""
    branch_ids = [b for b in (person.branch_id, person.left_branch_id) if b is not None]
    since = person.created_at.date()
    until = person.left_at.date() if person.left_at and person.branch_id is None else None
    rows = []
    for activity in await pq.branch_activities(session, branch_ids):
        absence = next(
            (a for a in activity.absences or [] if a.get("person_id") == person.id), None
        )
        in_period = activity.day >= since and (until is None or activity.day <= until)
        if absence is None and not in_period:
            continue
        rows.append(
            {
                "day": _iso(activity.day),
                "kinds": list(activity.kinds),
                "topic": activity.topic,
                "you": "absent" if absence is not None else "not recorded absent",
                "reason": absence.get("reason") if absence is not None else None,
                "voided": activity.voided,
            }
        )
    return rows


async def _meetings(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """The meetings the person was invited to, with their answers and sign-ins."""
    return [
        {
            "starts_at": _iso(meeting.starts_at),
            "kinds": list(meeting.kinds),
            "agenda": meeting.agenda,
            "cancelled": meeting.cancelled_at is not None,
            "answer": invitee.rsvp.value if invitee.rsvp else None,
            "reason": invitee.reason,
            "note": invitee.note,
            "signed_in_at": _iso(invitee.signed_in_at),
        }
        for meeting, invitee in await meeting_queries.invitations_of(session, person.id)
    ]


async def _relink(
    session: AsyncSession, person: Person | None, account: Account
) -> list[dict[str, Any]]:
    requests = await pq.relink_requests_of(
        session, person_id=person.id if person else None, account_id=account.id
    )
    letters, steps = await pq.relink_letters_and_steps(session, [r.id for r in requests])
    codes = await pq.org_codes(
        session,
        {r.home_branch_id for r in requests}
        | {r.receiving_branch_id for r in requests if r.receiving_branch_id},
    )
    return [
        {
            "id": r.id,
            "type": r.type.value,
            "state": r.state.value,
            "home_branch": codes.get(r.home_branch_id),
            "receiving_branch": codes.get(r.receiving_branch_id or 0),
            "name": r.name,
            "join_year": r.join_year,
            "city": r.city,
            "employer": r.employer,
            "phone": r.phone,
            "note": r.note,
            "submitted_at": _iso(r.submitted_at),
            "completed_at": _iso(r.completed_at),
            "letters": [
                {
                    "number": x.number,
                    "issued_at": _iso(x.issued_at),
                    "expires_at": _iso(x.expires_at),
                }
                for x in letters
                if x.request_id == r.id
            ],
            "steps": [
                {"step": s.step.value, "recorded_at": _iso(s.recorded_at)}
                for s in steps
                if s.request_id == r.id
            ],
        }
        for r in requests
    ]


async def _received(session: AsyncSession, account: Account) -> dict[str, Any]:
    deliveries = await pq.deliveries_of(session, account.id)
    reminders = await pq.reminders_of(session, account.id)
    settings = await pq.reminder_settings_of(session, account.id)
    return {
        "notices": [
            {
                "notice": d.notice_id,
                "round": d.round,
                "state": d.state.value,
                "sent_at": _iso(d.sent_at),
                "acknowledged_at": _iso(d.acknowledged_at),
            }
            for d in deliveries
        ],
        "reminders": [
            {
                "kind": r.kind,
                "due_at": _iso(r.due_at),
                "state": r.state.value,
                "sent_at": _iso(r.sent_at),
            }
            for r in reminders
        ],
        "reminder_settings": None
        if settings is None
        else {
            "muted": list(settings.muted or []),
            "quiet_start_minutes": settings.quiet_start,
            "quiet_end_minutes": settings.quiet_end,
            "digest_weekday": settings.digest_weekday,
            "digest_hour": settings.digest_hour,
        },
    }


async def _person_records(session: AsyncSession, person: Person) -> dict[str, Any]:
    trainings = await pq.trainings_of(session, person.id)
    surveys = await pq.survey_participation(session, person.id)
    register = await pq.register_entries_of(session, person.id)
    deletions = await pq.deletion_requests_of(session, person.id)
    return {
        "trainings": [
            {
                "title": t.title,
                "starts_at": _iso(t.starts_at),
                "answer": i.rsvp,
                "attended": i.attended,
            }
            for i, t in trainings
        ],
        "surveys_taken_part_in": [
            {"campaign": s.campaign_id, "subject": s.subject} for s in surveys
        ],
        "lost_contact_register": [
            {
                "name": e.name,
                "branch_code": e.branch_code,
                "join_year": e.join_year,
                "lost_on": _iso(e.lost_on),
                "phone": e.phone,
                "relinked_at": _iso(e.relinked_at),
            }
            for e in register
        ],
        "deletion_requests": [
            {
                "state": d.state.value,
                "requested_at": _iso(d.requested_at),
                "decided_at": _iso(d.decided_at),
            }
            for d in deletions
        ],
    }


async def personal_data(
    session: AsyncSession, account: Account, now: dt.datetime
) -> dict[str, Any]:
    """Everything stored about the holder of the account."""
    person = await session.get(Person, account.person_id) if account.person_id else None
    invites = await pq.invites_created_by(session, account.id)
    audit = await pq.audit_about(
        session, person_id=person.id if person else None, account_id=account.id
    )
    document: dict[str, Any] = {
        "exported_at": _iso(now),
        "account": _account(account),
        "person": await _person(session, person) if person else None,
        "roles": await _roles(session, person) if person else [],
        "activities": await _activities(session, person) if person else [],
        "meetings": await _meetings(session, person) if person else [],
        "relink_requests": await _relink(session, person, account),
        **await _received(session, account),
        "invites_you_created": [
            {"role": i.role.value, "created_at": _iso(i.created_at), "uses": i.uses}
            for i in invites
        ],
        # Who else acted is not shown: that is their data, not yours.
        "history": [{"action": e.action, "at": _iso(e.at)} for e in audit],
    }
    if person is not None:
        document.update(await _person_records(session, person))
        document["party_dues"] = await _dues(session, person)
    return document


async def _dues(session: AsyncSession, person: Person) -> dict[str, Any]:
    """The person's dues standards, payments and leave, voided entries included."""
    standards, payments, leaves = await dq.everything_of(session, person.id)
    return {
        "standards": [
            {
                "from_month": month_key(s.from_month),
                "yuan": format_amount(s.amount_fen),
                "voided_at": _iso(s.voided_at),
            }
            for s in standards
        ],
        "payments": [
            {
                "month": month_key(p.month),
                "yuan": format_amount(p.amount_fen),
                "paid_on": _iso(p.paid_on),
                "voided_at": _iso(p.voided_at),
            }
            for p in payments
        ],
        "leave": [
            {
                "from": month_key(leave.first_month),
                "to": month_key(leave.last_month),
                "reason": leave.reason.value,
                "voided_at": _iso(leave.voided_at),
            }
            for leave in leaves
        ],
    }
