"""The buttons of classification and grading, one family per verb (see handlers.buttons).

Shared by the grading handler modules: a screen built in one module offers buttons that
another module's handlers take. Whatever parses is only well formed; each handler loads the
object an id names and checks it against the presser (bot.grading.scope) on every press.
"""

from __future__ import annotations

from typing import Annotated

from bot.grading.satisfaction import Satisfaction
from handlers.buttons import Button, Token

# An answer to a questionnaire item as it travels in a button: a yes/partly/no word, a
# scale point or a choice option's id (ids are 1-32 of a-z, 0-9, "-" and "_").
AnswerValue = Annotated[str, Token(r"[a-z0-9_-]{1,32}", "yes")]

# ---- the self-assessment (gq) --------------------------------------------------------------


class OpenQuestionnaire(Button, prefix="gq:o"):
    """Open (or resume) a branch's questionnaire."""

    assessment_id: int


class AnswerItem(Button, prefix="gq:a"):
    """Answer the item at this position with this value."""

    index: int
    value: AnswerValue


class ConfirmItem(Button, prefix="gq:c"):
    """Confirm the answer suggested from the activity log."""

    index: int


class GoToItem(Button, prefix="gq:g"):
    """Show the item at this position (back, skip, first unanswered)."""

    index: int


class ReviewAnswers(Button, prefix="gq:rv"):
    """Show the review before submitting."""


class SubmitAnswers(Button, prefix="gq:sub"):
    """Submit the self-assessment."""


class ViewAnswers(Button, prefix="gq:v"):
    """Read a submitted self-assessment."""

    assessment_id: int


# ---- the secretary's survey tools (gm) -----------------------------------------------------


class AskCodes(Button, prefix="gm:n"):
    """Ask how many codes for the masses to make."""

    assessment_id: int


class CreateCodes(Button, prefix="gm:c"):
    """Make this many codes for the masses."""

    assessment_id: int
    count: int


class InviteMembers(Button, prefix="gm:m"):
    """Send the survey to the branch's members who haven't answered."""

    assessment_id: int


# ---- rectification (gr) --------------------------------------------------------------------


class RectificationList(Button, prefix="gr:l"):
    """Show a weak branch's rectification items."""

    assessment_id: int


class AddProblem(Button, prefix="gr:add"):
    """Enter one more rectification item."""

    assessment_id: int


class MarkDone(Button, prefix="gr:d"):
    """Mark a rectification item done."""

    item_id: int


class DueIn(Button, prefix="gr:due"):
    """The item's deadline, this many months from today."""

    months: int


# ---- the admin (ga) ------------------------------------------------------------------------


class NewCampaign(Button, prefix="ga:n"):
    """Start choosing a new campaign."""


class CampaignRoot(Button, prefix="ga:d"):
    """Grade the branches under this node."""

    org_id: int


class CampaignDeadline(Button, prefix="ga:c"):
    """The node and how many days secretaries have."""

    org_id: int
    days: int


class CampaignChoices(Button, prefix="ga:y"):
    """Everything chosen so far, carried in the button (no draft needed): node, days, the
    satisfaction rule, then the weights, grade limits and questionnaire by their index among
    the offered ones (a questionnaire of None: not asked yet)."""

    org_id: int
    days: int
    floor: bool
    weights: int | None = None
    bands: int | None = None
    questionnaire: int | None = None


class StartCampaign(CampaignChoices, prefix="ga:go"):
    """Start the campaign with these choices."""


class Progress(Button, prefix="ga:p"):
    """A campaign's progress, branch by branch."""

    campaign_id: int


class AskSuperior(Button, prefix="ga:s"):
    """Enter the superior's score of one branch."""

    assessment_id: int


class ImportSuperior(Button, prefix="ga:x"):
    """Upload the superior's scores of a campaign as XLSX."""

    campaign_id: int


class AskFinalise(Button, prefix="ga:f"):
    """Say what is missing before finalising."""

    campaign_id: int


class Finalise(Button, prefix="ga:fy"):
    """Finalise the grades."""

    campaign_id: int


class Report(Button, prefix="ga:r"):
    """The campaign's report, chart and XLSX."""

    campaign_id: int


class RectificationOverview(Button, prefix="ga:rc"):
    """Every weak branch's rectification."""

    campaign_id: int


# ---- surveys (sv, sm, sr) ------------------------------------------------------------------


class MemberAnswer(Button, prefix="sv"):
    """A member's answer about their branch in a campaign."""

    campaign_id: int
    value: Satisfaction


class SkipComment(Button, prefix="sv:skip"):
    """File the answer without a comment."""


class MassAnswer(Button, prefix="sm"):
    """An answer of the masses (the code is in the draft)."""

    value: Satisfaction


class CheckAnswer(Button, prefix="sr"):
    """A member's judgement of a finished rectification item."""

    item_id: int
    value: Satisfaction
