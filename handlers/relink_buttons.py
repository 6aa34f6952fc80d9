"""Callback data of the relink buttons: one family per verb.

`rl:*` are the buttons of a request card (each names a request, loaded and checked against
the presser on every press), `rlq:*` the questions of /relink, `rll` the pages of the leaders'
list, `rlx:*` the validity of a transfer letter being issued.
"""

from __future__ import annotations

from bot.enums import RequestType
from handlers.buttons import Button

# ---- request cards -------------------------------------------------------------------------


class ViewRequest(Button, prefix="rl:v"):
    """Show a request's card."""

    request_id: int


class AcceptRequest(Button, prefix="rl:acc"):
    request_id: int


class AskMoreRequest(Button, prefix="rl:ask"):
    request_id: int


class RejectRequest(Button, prefix="rl:rej"):
    request_id: int


class ReopenRequest(Button, prefix="rl:reo"):
    request_id: int


class IssueLetterRequest(Button, prefix="rl:let"):
    request_id: int


class AcceptTransferRequest(Button, prefix="rl:xfr"):
    request_id: int


class IdentityStep(Button, prefix="rl:idn"):
    """Reconnect identity step; with an entry: that register row (0: not in the register)."""

    request_id: int
    entry_id: int | None = None


class TalkStep(Button, prefix="rl:tlk"):
    request_id: int


class DuesStep(Button, prefix="rl:due"):
    request_id: int


class AssignStep(Button, prefix="rl:asg"):
    request_id: int


class AssignUnit(Button, prefix="rl:asu"):
    """Assign the re-linked member to this branch or party group."""

    request_id: int
    unit_id: int


class SystemFlagStep(Button, prefix="rl:sys"):
    request_id: int


class CompleteRequest(Button, prefix="rl:fin"):
    request_id: int


class CancelRequest(Button, prefix="rl:can"):
    request_id: int


class AnswerRequest(Button, prefix="rl:ans"):
    request_id: int


class WithdrawRequest(Button, prefix="rl:wd"):
    request_id: int


class ReportPlace(Button, prefix="rl:rep"):
    """A mobile member reports where they are."""

    request_id: int


class ClaimedIdentity(Button, prefix="rl:idp"):
    """Settle an unverified roster match: ask, or answer whether it is the same person."""

    request_id: int
    same_person: bool | None = None


# ---- /relink questions ---------------------------------------------------------------------


class StartRequest(Button, prefix="rlq:new"):
    """A leader starts a request of their own."""


class RequestKind(Button, prefix="rlq:type"):
    kind: RequestType


class SkipQuestion(Button, prefix="rlq:skip"):
    """Leave an optional answer out."""


class HomeBranch(Button, prefix="rlq:home"):
    """The member's home branch (0: they can't find it, show the committees)."""

    org_id: int


class OtherBranch(Button, prefix="rlq:other"):
    """The receiving branch, or where a mobile member takes part in Party life."""

    org_id: int


class SendRequest(Button, prefix="rlq:send"):
    pass


class StopRequest(Button, prefix="rlq:stop"):
    pass


# ---- the leaders' list, the letter's validity ----------------------------------------------


class ListPage(Button, prefix="rll"):
    page: int


class LetterDays(Button, prefix="rlx:days"):
    days: int
