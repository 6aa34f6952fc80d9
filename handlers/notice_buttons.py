"""The buttons of notices, one family per verb: composing (`ntf:`) and what follows (`ntc:`).

Whatever parses is only well formed: the handlers load the notice, copy or node a button
names and check it against the presser on every press.
"""

from __future__ import annotations

from typing import Literal

from bot.enums import NoticeAudience
from handlers.buttons import Button

# ---- composing (/notify) -----------------------------------------------------------------------


class NotifyFrom(Button, prefix="ntf:org"):
    """Send the notice from this node (one the admin administers)."""

    org_id: int


class SecondLanguage(Button, prefix="ntf:second"):
    """Add a text in the other language, or not."""

    choice: Literal["add", "skip"]


class AudienceChoice(Button, prefix="ntf:aud"):
    """Who receives the notice."""

    audience: NoticeAudience


class ToggleBranch(Button, prefix="ntf:br"):
    """Choose (or unchoose) a branch of the notice's node."""

    branch_id: int


class BranchesPage(Button, prefix="ntf:br:p"):
    """Another page of the branch picker."""

    page: int


class BranchesDone(Button, prefix="ntf:br:done"):
    """The branches are chosen."""


class AckChoice(Button, prefix="ntf:ack"):
    """Whether readers must acknowledge."""

    required: bool


class WhenChoice(Button, prefix="ntf:when"):
    """Send now, or at a time typed next."""

    when: Literal["now", "later"]


class ConfirmNotice(Button, prefix="ntf:confirm"):
    """Send the previewed notice."""


class DropNotice(Button, prefix="ntf:cancel"):
    """Drop the previewed notice."""


class PreviewAck(Button, prefix="ntf:noop"):
    """The acknowledge button on a preview: it does nothing."""


# ---- after confirming ---------------------------------------------------------------------------


class Acknowledge(Button, prefix="ntc:ack"):
    """A reader acknowledges their copy."""

    delivery_id: int


class Acknowledged(Button, prefix="ntc:acked"):
    """A reader presses their copy's button again (it shows when they acknowledged)."""

    delivery_id: int


class StopNotice(Button, prefix="ntc:stop"):
    """Cancel a scheduled notice, or stop one going out."""

    notice_id: int


class ResendNotice(Button, prefix="ntc:again"):
    """Send a notice again to those who have not acknowledged it."""

    notice_id: int


class NoticesPage(Button, prefix="ntc:list"):
    """Another page of /notices."""

    page: int
