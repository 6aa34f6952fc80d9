"""Requests of mobile and lost-contact members: every path, every refusal, random walks."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.relink import (
    FINAL_STATES,
    Accept,
    AcceptTransfer,
    Action,
    Actor,
    ActorRole,
    Answer,
    AskMore,
    AssignedTo,
    Audience,
    Cancel,
    Complete,
    CompleteStep,
    DuesSettled,
    EducationTalkHeld,
    EventKind,
    ExpireLetter,
    IdentityConfirmed,
    IssueLetter,
    MatchReason,
    ReconnectStep,
    Refusal,
    RefusalCode,
    RegisterRow,
    Reject,
    Reopen,
    RequestSnapshot,
    RequestState,
    RequestType,
    SystemFlagCleared,
    Transition,
    Withdraw,
    apply,
    is_letter_expired,
    match_lost_contact,
    normalise_name,
    submit,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

MEMBER = Actor(101)
SECRETARY = Actor(201, home_side=True)
ADMIN = Actor(301, admin_home=True)
ADMIN_OF_BOTH = Actor(302, admin_home=True, admin_receiving=True)
RECEIVER = Actor(401, receiving_side=True)
RECEIVING_ADMIN = Actor(402, admin_receiving=True)
STRANGER = Actor(501)
SYSTEM = Actor.system_job()
# A secretary filing their own request: a requester first, a decider never.
SECRETARY_AS_MEMBER = Actor(101, home_side=True)

STEPS = (
    IdentityConfirmed("name, join date and branch checked"),
    EducationTalkHeld(date(2025, 2, 20), "王书记"),
    DuesSettled(14),
    AssignedTo("第二党小组"),
    SystemFlagCleared(),
)


def new(kind: RequestType, receiving: str | None = "B2") -> RequestSnapshot:
    """Submit a request by MEMBER to home branch B1."""
    result = submit(
        request_id=1,
        request_type=kind,
        requester_id=MEMBER.person_id,
        home_branch="B1",
        receiving_branch=receiving,
        now=NOW,
        note="在深圳工作",
    )
    assert isinstance(result, Transition)
    return result.snapshot


def ok(
    request: RequestSnapshot, action: Action, actor: Actor, now: datetime = NOW
) -> RequestSnapshot:
    """Apply an action that must succeed, and check its event."""
    result = apply(request, action, actor, now)
    assert isinstance(result, Transition), result
    assert result.event.actor_id == actor.person_id
    assert result.event.from_state is request.state
    assert result.event.to_state is result.snapshot.state
    assert result.snapshot.version == request.version + 1
    return result.snapshot


def refused(
    request: RequestSnapshot, action: Action, actor: Actor, now: datetime = NOW
) -> RefusalCode:
    """Apply an action that must be refused, and return the code."""
    result = apply(request, action, actor, now)
    assert isinstance(result, Refusal), result
    return result.code


# --- paths ---------------------------------------------------------------------------------------


def test_submit_notifies_the_home_side() -> None:
    result = submit(
        request_id=7,
        request_type=RequestType.MOBILE,
        requester_id=101,
        home_branch="B1",
        receiving_branch=None,
        now=NOW,
    )
    assert isinstance(result, Transition)
    assert result.snapshot.state is RequestState.SUBMITTED
    assert result.event.kind is EventKind.SUBMITTED
    assert result.event.notify == {Audience.HOME_SIDE}
    assert result.event.actor_role is ActorRole.REQUESTER


def test_submit_checks_branches() -> None:
    def code(kind: RequestType, receiving: str | None) -> RefusalCode:
        result = submit(
            request_id=1,
            request_type=kind,
            requester_id=101,
            home_branch="B1",
            receiving_branch=receiving,
            now=NOW,
        )
        assert isinstance(result, Refusal)
        return result.code

    assert code(RequestType.TRANSFER, None) is RefusalCode.RECEIVING_BRANCH_REQUIRED
    assert code(RequestType.TRANSFER, "B1") is RefusalCode.SAME_BRANCH
    assert code(RequestType.MOBILE, "B1") is RefusalCode.SAME_BRANCH


def test_mobile_path() -> None:
    request = new(RequestType.MOBILE)
    request = ok(request, AskMore("Which employer?"), SECRETARY)
    assert request.state is RequestState.NEEDS_INFO and request.question == "Which employer?"
    request = ok(request, Answer("华为"), MEMBER)
    assert request.state is RequestState.SUBMITTED and request.question is None
    result = apply(request, Accept(), SECRETARY, NOW)
    assert isinstance(result, Transition)
    assert result.snapshot.state is RequestState.ACTIVE
    # Two-way management: the local branch hears about it too.
    assert result.event.notify == {Audience.REQUESTER, Audience.RECEIVING_SIDE}
    request = ok(result.snapshot, Complete(), MEMBER, NOW + timedelta(days=200))
    assert request.state is RequestState.COMPLETED


def test_mobile_without_local_branch_can_be_ended_by_the_home_side() -> None:
    request = ok(new(RequestType.MOBILE, receiving=None), Accept(), ADMIN)
    assert request.accepted_by == ADMIN.person_id
    assert ok(request, Complete(), SECRETARY).state is RequestState.COMPLETED


def test_transfer_path() -> None:
    request = ok(new(RequestType.TRANSFER), Accept(), SECRETARY)
    assert request.state is RequestState.ACCEPTED
    result = apply(request, IssueLetter("(2025) 第 12 号"), SECRETARY, NOW)
    assert isinstance(result, Transition)
    request = result.snapshot
    assert request.state is RequestState.LETTER_ISSUED
    assert request.letter is not None and request.letter.valid_days == 30
    assert request.letter.expires_at == NOW + timedelta(days=30)
    assert result.event.notify == {Audience.REQUESTER, Audience.RECEIVING_SIDE}
    assert result.event.details["number"] == "(2025) 第 12 号"
    result = apply(request, AcceptTransfer(), RECEIVER, NOW + timedelta(days=10))
    assert isinstance(result, Transition)
    assert result.snapshot.state is RequestState.COMPLETED
    assert result.snapshot.transfer_accepted_by == RECEIVER.person_id
    assert result.event.actor_role is ActorRole.RECEIVING_SIDE
    assert result.event.notify == {Audience.REQUESTER, Audience.HOME_SIDE}


def test_transfer_accepted_by_an_admin_over_the_receiving_branch() -> None:
    request = ok(ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("12"), SECRETARY)
    assert ok(request, AcceptTransfer(), RECEIVING_ADMIN).state is RequestState.COMPLETED
    # An admin over both branches may accept a letter someone else issued...
    assert ok(request, AcceptTransfer(), ADMIN_OF_BOTH).state is RequestState.COMPLETED
    # ...but not a letter they issued themself.
    issued_by_admin = ok(
        ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("13"), ADMIN_OF_BOTH
    )
    code = refused(issued_by_admin, AcceptTransfer(), ADMIN_OF_BOTH)
    assert code is RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT


def test_expired_letter_is_a_pocket_member_then_reissued() -> None:
    request = ok(
        ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("12", 10), SECRETARY
    )
    day_9, day_10 = NOW + timedelta(days=9, hours=23), NOW + timedelta(days=10)
    assert not is_letter_expired(request, day_9)
    assert is_letter_expired(request, day_10)
    assert refused(request, ExpireLetter(), SYSTEM, day_9) is RefusalCode.LETTER_NOT_EXPIRED
    # Not flagged yet, but already too late to accept.
    assert refused(request, AcceptTransfer(), RECEIVER, day_10) is RefusalCode.LETTER_EXPIRED
    result = apply(request, ExpireLetter(), SYSTEM, day_10)
    assert isinstance(result, Transition)
    assert result.event.actor_role is ActorRole.SYSTEM
    assert result.event.notify == set(Audience)
    request = result.snapshot
    assert request.state is RequestState.LETTER_EXPIRED and is_letter_expired(request, day_10)
    assert refused(request, AcceptTransfer(), RECEIVER, day_10) is RefusalCode.LETTER_EXPIRED

    day_11 = NOW + timedelta(days=11)
    result = apply(request, IssueLetter("12-bis", 30), SECRETARY, day_11)
    assert isinstance(result, Transition)
    assert result.event.details["replaces"] == "12"
    request = result.snapshot
    assert request.letters_issued == 2 and not is_letter_expired(request, day_11)
    assert ok(request, AcceptTransfer(), RECEIVER, day_11).state is RequestState.COMPLETED


def test_expired_letter_can_be_cancelled() -> None:
    request = ok(ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("12"), SECRETARY)
    request = ok(request, ExpireLetter(), SECRETARY, NOW + timedelta(days=31))
    assert refused(request, Cancel(" "), SECRETARY) is RefusalCode.REASON_REQUIRED
    result = apply(request, Cancel("member stays"), SECRETARY, NOW + timedelta(days=32))
    assert isinstance(result, Transition)
    assert result.snapshot.state is RequestState.CANCELLED
    assert result.event.notify == {Audience.REQUESTER, Audience.RECEIVING_SIDE}


def test_reconnect_path() -> None:
    request = ok(new(RequestType.RECONNECT), Accept(), SECRETARY)
    assert request.receiving_branch is None
    assert request.missing_steps == tuple(ReconnectStep)
    for step in STEPS[:-1]:
        request = ok(request, CompleteStep(step), SECRETARY)
    assert request.state is RequestState.ACCEPTED
    assert request.missing_steps == (ReconnectStep.SYSTEM_FLAG,)
    assert refused(request, Complete(), SECRETARY) is RefusalCode.STEPS_INCOMPLETE
    result = apply(request, CompleteStep(STEPS[-1]), ADMIN, NOW)
    assert isinstance(result, Transition)
    assert result.event.kind is EventKind.STEP_RECORDED
    assert result.event.details == {"step": "system_flag"}
    request = ok(result.snapshot, Complete(), SECRETARY)
    assert request.state is RequestState.COMPLETED


def test_reconnect_step_details_are_recorded_and_can_be_corrected() -> None:
    request = ok(new(RequestType.RECONNECT), Accept(), SECRETARY)
    result = apply(request, CompleteStep(STEPS[1]), SECRETARY, NOW)
    assert isinstance(result, Transition)
    assert result.event.details == {
        "step": "education_talk",
        "held_on": "2025-02-20",
        "held_by": "王书记",
    }
    request = ok(result.snapshot, CompleteStep(DuesSettled(14)), SECRETARY)
    request = ok(request, CompleteStep(DuesSettled(15)), SECRETARY)
    dues = [r for r in request.steps if r.detail.step is ReconnectStep.DUES]
    assert len(dues) == 1 and dues[0].detail == DuesSettled(15)
    assert dues[0].recorded_by == SECRETARY.person_id


def test_reject_then_reopen() -> None:
    request = ok(new(RequestType.MOBILE), Reject("not a member of this branch"), SECRETARY)
    assert request.state is RequestState.REJECTED and request.reason
    assert refused(request, Accept(), SECRETARY) is RefusalCode.REJECTED_NEEDS_REOPEN
    assert refused(request, AskMore("?"), ADMIN) is RefusalCode.REJECTED_NEEDS_REOPEN
    assert refused(request, Reopen(), MEMBER) is RefusalCode.OWN_REQUEST
    request = ok(request, Reopen("new evidence"), ADMIN)
    assert request.state is RequestState.SUBMITTED and request.reason is None
    assert ok(request, Accept(), SECRETARY).state is RequestState.ACTIVE


def test_withdraw() -> None:
    request = ok(new(RequestType.RECONNECT), Withdraw(), MEMBER)
    assert request.state is RequestState.WITHDRAWN
    assert refused(request, Reopen(), SECRETARY) is RefusalCode.FINAL_STATE
    transfer = ok(ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("1"), SECRETARY)
    # With a letter out, the home side cancels it rather than the member withdrawing.
    assert refused(transfer, Withdraw(), MEMBER) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(transfer, Withdraw(), SECRETARY) is RefusalCode.NOT_ALLOWED_FOR_ROLE


# --- refusals ------------------------------------------------------------------------------------


def test_requesters_never_decide_their_own_request() -> None:
    request = new(RequestType.TRANSFER)
    for action in (Accept(), Reject("x"), AskMore("x")):
        assert refused(request, action, MEMBER) is RefusalCode.OWN_REQUEST
        assert refused(request, action, SECRETARY_AS_MEMBER) is RefusalCode.OWN_REQUEST
    request = ok(ok(request, Accept(), SECRETARY), IssueLetter("1"), SECRETARY)
    assert refused(request, AcceptTransfer(), MEMBER) is RefusalCode.OWN_REQUEST
    reconnect = ok(new(RequestType.RECONNECT), Accept(), SECRETARY)
    assert refused(reconnect, CompleteStep(STEPS[0]), MEMBER) is RefusalCode.OWN_REQUEST
    assert refused(reconnect, Complete(), MEMBER) is RefusalCode.OWN_REQUEST


def test_only_the_home_side_decides() -> None:
    request = new(RequestType.TRANSFER)
    for actor in (STRANGER, RECEIVER, RECEIVING_ADMIN, SYSTEM):
        assert refused(request, Accept(), actor) is RefusalCode.NOT_ALLOWED_FOR_ROLE
    assert refused(request, Answer("x"), SECRETARY) is RefusalCode.NOT_ALLOWED_FOR_ROLE


def test_only_the_receiving_side_accepts_the_letter() -> None:
    request = ok(ok(new(RequestType.TRANSFER), Accept(), SECRETARY), IssueLetter("1"), ADMIN)
    assert refused(request, AcceptTransfer(), SECRETARY) is (
        RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT
    )
    assert refused(request, AcceptTransfer(), ADMIN) is RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT
    assert refused(request, AcceptTransfer(), STRANGER) is RefusalCode.NOT_ALLOWED_FOR_ROLE
    # A secretary of both branches would be the issuing branch.
    both = Actor(601, home_side=True, receiving_side=True)
    assert refused(request, AcceptTransfer(), both) is RefusalCode.ISSUING_BRANCH_CANNOT_ACCEPT


def test_wrong_type() -> None:
    mobile = ok(new(RequestType.MOBILE), Accept(), SECRETARY)
    assert refused(mobile, IssueLetter("1"), SECRETARY) is RefusalCode.WRONG_TYPE
    assert refused(mobile, CompleteStep(STEPS[0]), SECRETARY) is RefusalCode.WRONG_TYPE
    transfer = ok(new(RequestType.TRANSFER), Accept(), SECRETARY)
    assert refused(transfer, Complete(), SECRETARY) is RefusalCode.WRONG_TYPE
    reconnect = new(RequestType.RECONNECT)
    assert refused(reconnect, AcceptTransfer(), RECEIVER) is RefusalCode.WRONG_TYPE
    assert refused(reconnect, ExpireLetter(), SYSTEM) is RefusalCode.WRONG_TYPE


def test_final_states_stay_final() -> None:
    done = ok(ok(new(RequestType.MOBILE), Accept(), SECRETARY), Complete(), MEMBER)
    for action in (Accept(), Reopen(), Withdraw(), Cancel("x"), Complete()):
        for actor in (MEMBER, SECRETARY, ADMIN):
            assert refused(done, action, actor) is RefusalCode.FINAL_STATE


def test_payloads_are_checked() -> None:
    request = new(RequestType.TRANSFER)
    assert refused(request, Reject(""), SECRETARY) is RefusalCode.REASON_REQUIRED
    assert refused(request, AskMore("  "), SECRETARY) is RefusalCode.QUESTION_REQUIRED
    asked = ok(request, AskMore("When?"), SECRETARY)
    assert refused(asked, Answer(" "), MEMBER) is RefusalCode.ANSWER_REQUIRED
    accepted = ok(request, Accept(), SECRETARY)
    assert refused(accepted, IssueLetter(" "), SECRETARY) is RefusalCode.LETTER_NUMBER_REQUIRED
    assert refused(accepted, IssueLetter("1", 0), SECRETARY) is RefusalCode.INVALID_VALIDITY
    assert refused(accepted, IssueLetter("1", 91), SECRETARY) is RefusalCode.INVALID_VALIDITY
    assert ok(accepted, IssueLetter("1", 90), SECRETARY).letter is not None
    reconnect = ok(new(RequestType.RECONNECT), Accept(), SECRETARY)
    for bad in (
        EducationTalkHeld(date(2025, 3, 2), "王书记"),  # tomorrow
        EducationTalkHeld(date(2025, 2, 2), " "),
        DuesSettled(-1),
        AssignedTo(""),
    ):
        assert refused(reconnect, CompleteStep(bad), SECRETARY) is RefusalCode.INVALID_DETAILS


def test_state_refusals() -> None:
    request = new(RequestType.TRANSFER)
    assert refused(request, Answer("x"), MEMBER) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(request, IssueLetter("1"), SECRETARY) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(request, Cancel("x"), SECRETARY) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(request, Reopen(), SECRETARY) is RefusalCode.NOT_ALLOWED_IN_STATE
    accepted = ok(request, Accept(), SECRETARY)
    assert refused(accepted, Accept(), SECRETARY) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(accepted, AcceptTransfer(), RECEIVER) is RefusalCode.NOT_ALLOWED_IN_STATE
    assert refused(accepted, ExpireLetter(), SYSTEM) is RefusalCode.NOT_ALLOWED_IN_STATE
    mobile = new(RequestType.MOBILE)
    assert refused(mobile, Complete(), MEMBER) is RefusalCode.NOT_ALLOWED_IN_STATE


def test_refusals_do_not_change_the_request() -> None:
    request = new(RequestType.TRANSFER)
    before = replace(request)
    apply(request, Accept(), MEMBER, NOW)
    assert request == before


# --- random walks --------------------------------------------------------------------------------

ACTORS = (
    MEMBER,
    SECRETARY_AS_MEMBER,
    SECRETARY,
    ADMIN,
    ADMIN_OF_BOTH,
    RECEIVER,
    RECEIVING_ADMIN,
    STRANGER,
    SYSTEM,
)
ACTIONS: tuple[Action, ...] = (
    Accept(),
    Reject("reason"),
    Reject(""),
    AskMore("question"),
    Answer("answer"),
    Answer(""),
    Reopen(),
    Withdraw(),
    IssueLetter("L-1", 10),
    IssueLetter("L-2", 30),
    IssueLetter("", 30),
    AcceptTransfer(),
    ExpireLetter(),
    *(CompleteStep(step) for step in STEPS),
    CompleteStep(DuesSettled(-1)),
    Complete(),
    Cancel("reason"),
    Cancel(""),
)

S = RequestState
LEGAL_EDGES = {
    # Review and its detours, common to every type.
    (S.SUBMITTED, S.NEEDS_INFO),
    (S.NEEDS_INFO, S.NEEDS_INFO),
    (S.NEEDS_INFO, S.SUBMITTED),
    (S.SUBMITTED, S.REJECTED),
    (S.NEEDS_INFO, S.REJECTED),
    (S.REJECTED, S.SUBMITTED),
    (S.SUBMITTED, S.WITHDRAWN),
    (S.NEEDS_INFO, S.WITHDRAWN),
    (S.REJECTED, S.WITHDRAWN),
}
LEGAL_BY_TYPE = {
    RequestType.MOBILE: LEGAL_EDGES
    | {(S.SUBMITTED, S.ACTIVE), (S.NEEDS_INFO, S.ACTIVE), (S.ACTIVE, S.COMPLETED)},
    RequestType.TRANSFER: LEGAL_EDGES
    | {
        (S.SUBMITTED, S.ACCEPTED),
        (S.NEEDS_INFO, S.ACCEPTED),
        (S.ACCEPTED, S.LETTER_ISSUED),
        (S.LETTER_ISSUED, S.COMPLETED),
        (S.LETTER_ISSUED, S.LETTER_EXPIRED),
        (S.LETTER_EXPIRED, S.LETTER_ISSUED),
        (S.ACCEPTED, S.CANCELLED),
        (S.LETTER_ISSUED, S.CANCELLED),
        (S.LETTER_EXPIRED, S.CANCELLED),
        (S.ACCEPTED, S.WITHDRAWN),
        (S.LETTER_EXPIRED, S.WITHDRAWN),
    },
    RequestType.RECONNECT: LEGAL_EDGES
    | {
        (S.SUBMITTED, S.ACCEPTED),
        (S.NEEDS_INFO, S.ACCEPTED),
        (S.ACCEPTED, S.ACCEPTED),
        (S.ACCEPTED, S.COMPLETED),
        (S.ACCEPTED, S.CANCELLED),
        (S.ACCEPTED, S.WITHDRAWN),
    },
}
HOME_DECISIONS = (Accept, Reject, AskMore, Reopen, IssueLetter, CompleteStep, Cancel)


def check_transition(
    before: RequestSnapshot,
    action: Action,
    actor: Actor,
    now: datetime,
    after: Transition,
    history: list[Transition],
) -> None:
    """Invariants of one successful transition, with the events so far."""
    new_state, event = after.snapshot, after.event
    is_requester = actor.person_id == before.requester_id and not actor.system
    assert event.actor_id == actor.person_id and event.at == now
    assert (event.from_state, event.to_state) == (before.state, new_state.state)
    assert (event.actor_role is ActorRole.REQUESTER) == is_requester
    assert new_state.version == before.version + 1
    assert (new_state.id, new_state.type, new_state.requester_id, new_state.home_branch) == (
        before.id,
        before.type,
        before.requester_id,
        before.home_branch,
    )
    assert (before.state, new_state.state) in LEGAL_BY_TYPE[before.type]
    assert before.state not in FINAL_STATES
    if before.state is S.REJECTED:
        assert isinstance(action, Reopen | Withdraw)
    if isinstance(action, HOME_DECISIONS):
        assert not is_requester
        assert actor.home_side or actor.admin_home
    if isinstance(action, Answer | Withdraw):
        assert is_requester
    if isinstance(action, AcceptTransfer):
        assert before.letter is not None
        assert actor.receiving_side or actor.admin_receiving
        assert not actor.home_side and actor.person_id != before.letter.issued_by
        assert not is_requester and now < before.letter.expires_at
    if new_state.state is S.COMPLETED:
        kinds = [t.event.kind for t in history]
        assert EventKind.ACCEPTED in kinds
        if before.type is RequestType.TRANSFER:
            assert isinstance(action, AcceptTransfer)
            assert EventKind.LETTER_ISSUED in kinds
        elif before.type is RequestType.RECONNECT:
            assert isinstance(action, Complete) and not is_requester
            assert before.missing_steps == ()
        else:
            assert isinstance(action, Complete) and before.state is S.ACTIVE


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(RequestType), st.data())
def test_no_sequence_reaches_an_illegal_state(kind: RequestType, data: st.DataObject) -> None:
    request = new(kind)
    now = NOW
    history: list[Transition] = []
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        now += timedelta(days=data.draw(st.integers(0, 12), label="days"))
        outcomes = [
            (action, actor, apply(request, action, actor, now))
            for action in ACTIONS
            for actor in ACTORS
        ]
        legal = [entry for entry in outcomes if isinstance(entry[2], Transition)]
        onward = [
            (action, actor, result)
            for action, actor, result in legal
            if isinstance(result, Transition)
            and result.snapshot.state not in (S.WITHDRAWN, S.CANCELLED)
        ]
        # Mostly follow a legal move, rarely one that gives up, so walks get deep; sometimes
        # try anything at all.
        pick = data.draw(st.integers(0, 7), label="pick")
        pool = onward if onward and pick > 2 else legal if legal and pick > 0 else outcomes
        action, actor, result = data.draw(st.sampled_from(pool), label="move")
        for _action, _actor, outcome in outcomes:
            if request.is_final:
                assert isinstance(outcome, Refusal)
                assert outcome.code is RefusalCode.FINAL_STATE
        if isinstance(result, Refusal):
            continue
        history.append(result)
        check_transition(request, action, actor, now, result, history)
        request = result.snapshot
    assert request.version == 1 + len(history)


# --- matching the register -----------------------------------------------------------------------

REGISTER = [
    RegisterRow(1, "张三", "B1", 2001),
    RegisterRow(2, "张三", "B7", 1990),
    RegisterRow(3, "王晓明", "B1", 2005),
    RegisterRow(4, "章三", "B1", 2001),
    RegisterRow(5, "李四", "B1", 2001),
    RegisterRow(6, "欧阳明辉", "B3", 1999),
    RegisterRow(7, "Li Ming", "B9", 2010),
]


def ids(candidates: list) -> list[int]:
    return [c.row.person_id for c in candidates]


def test_exact_name_with_matching_branch_and_year_ranks_first() -> None:
    found = match_lost_contact("张三", "B1", 2001, REGISTER)
    assert ids(found) == [1, 2, 4]
    assert found[0].reasons == (
        MatchReason.NAME_EXACT,
        MatchReason.SAME_BRANCH,
        MatchReason.SAME_JOIN_YEAR,
    )
    assert found[0].score == 1.0
    assert found[2].reasons[0] is MatchReason.NAME_ONE_EDIT


def test_name_tiers_outrank_corroboration() -> None:
    register = [
        RegisterRow(1, "王小明", "B1", 2005),  # similar given name, same branch and year
        RegisterRow(2, "王晓明", None, None),  # exact, nothing else
        RegisterRow(3, "汪晓明", "B1", 2005),  # one edit in the surname
    ]
    found = match_lost_contact("王晓明", "B1", 2005, register)
    assert ids(found) == [2, 1, 3]
    assert [c.reasons[0] for c in found] == [
        MatchReason.NAME_EXACT,
        MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME,
        MatchReason.NAME_ONE_EDIT,
    ]
    assert found[0].score >= 0.7 >= found[1].score >= 0.4 >= found[2].score


def test_spaces_and_widths_do_not_matter() -> None:
    assert normalise_name("张　三") == normalise_name("张 三") == "张三"
    assert normalise_name("Ｌｉ　Ｍｉｎｇ") == "liming"
    assert ids(match_lost_contact("张　三", None, None, REGISTER))[:2] == [1, 2]
    found = match_lost_contact("LI  MING", None, None, REGISTER)
    assert ids(found) == [7] and found[0].reasons == (MatchReason.NAME_EXACT,)


def test_compound_surname() -> None:
    found = match_lost_contact("欧阳明华", None, 2000, REGISTER)
    assert ids(found) == [6]
    assert found[0].reasons == (
        MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME,
        MatchReason.JOIN_YEAR_OFF_BY_ONE,
    )


def test_unrelated_names_are_not_candidates() -> None:
    assert match_lost_contact("赵六一", "B1", 2001, REGISTER) == []
    assert match_lost_contact("", "B1", 2001, REGISTER) == []
    assert len(match_lost_contact("张三", None, None, REGISTER, limit=1)) == 1


@pytest.mark.parametrize(
    ("a", "b", "tier"),
    [
        ("张三丰", "张三峰", MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME),
        ("张三丰", "章三丰", MatchReason.NAME_ONE_EDIT),
        ("张三丰", "张三", MatchReason.SURNAME_AND_SIMILAR_GIVEN_NAME),
        ("张三丰", "三丰", MatchReason.NAME_ONE_EDIT),
        ("张伟", "张玮", MatchReason.NAME_ONE_EDIT),
    ],
)
def test_name_tiers(a: str, b: str, tier: MatchReason) -> None:
    found = match_lost_contact(a, None, None, [RegisterRow(1, b)])
    assert [c.reasons[0] for c in found] == [tier]
