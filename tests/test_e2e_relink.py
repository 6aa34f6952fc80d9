"""Mobile and lost-contact members through the fake Bot API: the three paths in both languages,
rejection, asking for more, an expired transfer, register matching and the illegal moves."""

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update

from bot.app import ZhibuApp
from bot.config import Settings
from bot.demo import DemoUser
from bot.enums import PersonStatus, RequestState, RequestType
from bot.fake_telegram import FakeTelegramClient
from bot.fake_telegram.client import FakeMessage, FakeUser
from bot.i18n import Translator
from bot.relink import service
from bot.relink.jobs import check_pocket_members
from storage import queries
from storage.db import SessionFactory
from storage.models import Account
from tests.support.bot import running_bot
from tests.support.registration import relink_as_stranger
from tests.support.relink import THROTTLE, add_register_rows, request_row

LANGUAGES = [pytest.param("en", id="en"), pytest.param("zh_Hans", id="zh")]
TELEGRAM_CODES = {"en": "en", "zh_Hans": "zh-hans"}


async def _everyone_speaks(db: SessionFactory, locale: str) -> None:
    async with db.begin() as session:
        await session.execute(update(Account).values(locale=locale))


async def _users(
    client: FakeTelegramClient, demo: dict[str, DemoUser], locale: str, *names: str
) -> list[FakeUser]:
    return [
        await client.user(demo[n].telegram_id, n, language_code=TELEGRAM_CODES[locale])
        for n in names
    ]


async def _pick(user: FakeUser, message: FakeMessage, prefix: str) -> None:
    label = next(text for text in message.button_texts if text.startswith(prefix))
    await user.press(message, label)


async def _file_request(
    user: FakeUser,
    tr: Translator,
    kind_label: str,
    *,
    name: str | None = None,
    home_search: str | None = None,
    home_code: str | None = None,
    other_search: str | None = None,
    other_code: str | None = None,
) -> FakeMessage:
    """Answer the /relink questions; returns the confirmation (after pressing Send)."""
    await user.send("/relink")
    kinds = await user.wait_reply()
    first = kinds.buttons[0][0][1] if kinds.buttons else None
    if first is not None and first.startswith("pv:ok:"):
        # Someone with no account agrees to the privacy notice first.
        await user.press(kinds, kinds.button_texts[0])
        await user.wait_edit()
        await user.send("/relink")
        kinds = await user.wait_reply()
    if not kinds.buttons:  # the outcome of an earlier request comes first
        kinds = await user.wait_reply()
    await user.press(kinds, tr._(kind_label))
    if name is not None:
        assert tr._("Your full name, as on your branch's roster:") in (await user.wait_reply()).text
        await user.send(name)
    if home_search is not None:
        await user.wait_reply()
        await user.send(home_search)
        found = await user.wait_reply()
        assert home_code is not None
        await _pick(user, found, home_code)
    await user.wait_reply()  # year of joining
    await user.send("2005")
    await user.wait_reply()  # where now
    await user.send("深圳 Shenzhen")
    employer = await user.wait_reply()
    await user.press(employer, tr._("Skip"))
    phone = await user.wait_reply()
    await user.press(phone, tr._("Skip"))
    if other_search is not None:
        await user.wait_reply()
        await user.send(other_search)
        found = await user.wait_reply()
        assert other_code is not None
        await _pick(user, found, other_code)
    elif kind_label.startswith("1."):
        local = await user.wait_reply()
        await user.press(local, tr._("Skip"))
    summary = await user.wait_reply()
    assert (
        tr._("<b>Please check your request</b>").removeprefix("<b>").removesuffix("</b>")
        in summary.text
    )
    await user.press(summary, tr._("Send the request"))
    return await user.wait_edit()


@pytest.mark.parametrize("locale", LANGUAGES)
async def test_mobile_member_path(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    locale: str,
) -> None:
    tr = Translator(locale)
    await _everyone_speaks(db, locale)
    member, secretary, local = await _users(client, demo, locale, "李强", "王芳", "陈静")
    sent = await _file_request(
        member,
        tr,
        "1. Report as a mobile member",
        other_search="DEMO-B2",
        other_code="DEMO-B2",
    )
    assert "#1" in sent.text and "/relink" in sent.text
    notice = await secretary.wait_reply()
    assert "李强" in notice.text and tr._("new request to review") in notice.text
    assert notice.button_texts == [tr._("Accept"), tr._("Ask for more"), tr._("Reject")]
    await secretary.press(notice, tr._("Accept"))
    done = await secretary.wait_edit()
    assert tr._("active: managed by both branches") in done.text

    told = await member.wait_reply()
    assert "/relink" in told.text and ("at least once a year" in told.text or "每年" in told.text)
    local_notice = await local.wait_reply()
    assert "李强" in local_notice.text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert account is not None and account.person is not None
        assert account.person.status is PersonStatus.MOBILE
    assert (await request_row(db)).last_report_at is not None

    # Two-way management: the local branch lists the member too.
    await local.send("/relink")
    assert "李强" in (await local.wait_reply()).text
    # The member sees the state and reports a change of place; both sides hear it.
    await member.send("/relink")
    card = await member.wait_reply()
    assert tr._("active: managed by both branches") in card.text
    await member.press(card, tr._("Report to my home branch"))
    await member.wait_reply()
    await member.send("Guangzhou")
    assert "Guangzhou" in (await member.wait_reply()).text
    assert "Guangzhou" in (await secretary.wait_reply()).text
    assert "Guangzhou" in (await local.wait_reply()).text
    await member.press(card, tr._("End the mobile period"))
    assert tr._("completed") in (await member.wait_edit()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert account is not None and account.person is not None
        assert account.person.status is PersonStatus.REGULAR
    # The finished request is still shown before a new one starts.
    await member.send("/relink")
    last = await member.wait_reply()
    assert "#1" in last.text and tr._("completed") in last.text


@pytest.mark.parametrize("locale", LANGUAGES)
async def test_transfer_path(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    locale: str,
) -> None:
    tr = Translator(locale)
    await _everyone_speaks(db, locale)
    member, home, receiving = await _users(client, demo, locale, "张伟", "王芳", "周涛")
    await _file_request(
        member, tr, "2. Transfer my ties", other_search="DEMO-B3", other_code="DEMO-B3"
    )
    notice = await home.wait_reply()
    await home.press(notice, tr._("Accept"))
    card = await home.wait_edit()
    assert tr._("Issue transfer letter") in card.button_texts
    assert "#1" in (await member.wait_reply()).text
    await home.press(card, tr._("Issue transfer letter"))
    await home.wait_reply()
    await home.send("(2026) 12")
    validity = await home.wait_reply()
    assert validity.button_texts == [tr._("{days} days").format(days=d) for d in (10, 30, 90)]
    await home.press(validity, tr._("{days} days").format(days=30))
    issued = await home.wait_edit()
    assert tr._("transfer letter issued") in issued.text and "(2026) 12" in issued.text

    letter = await member.wait_reply()
    assert "(2026) 12" in letter.text
    accepted = await receiving.wait_reply()  # told when the home side accepted the request
    assert tr._("accepted") in accepted.text
    to_accept = await receiving.wait_reply()
    assert to_accept.button_texts == [tr._("Accept the transfer")]
    # The branch that issued the letter cannot accept it, even with a forged button.
    forged = await home.press_data(issued, "rl:xfr:1")
    answer = await home.callback_answer(forged)
    assert answer["text"] == tr._(
        "The branch that issued the transfer letter cannot accept it; the receiving branch "
        "does. Nothing was changed."
    )
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["张伟"].telegram_id)
        assert account is not None and account.person is not None
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B1"

    await receiving.press(to_accept, tr._("Accept the transfer"))
    assert tr._("completed") in (await receiving.wait_edit()).text
    moved = await member.wait_reply()
    assert "DEMO-B3" in moved.text
    assert tr._("transfer accepted by the receiving branch") in (await home.wait_reply()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["张伟"].telegram_id)
        assert account is not None and account.person is not None
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B3"
        actions = [e.action for e in await queries.audit_entries(session)]
    assert actions == [
        "relink.submitted",
        "relink.accepted",
        "relink.letter_issued",
        "relink.transfer_accepted",
    ]


@pytest.mark.parametrize("locale", LANGUAGES)
async def test_reconnect_path_with_register_matching(
    bot: ZhibuApp,
    client: FakeTelegramClient,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    locale: str,
) -> None:
    tr = Translator(locale)
    await _everyone_speaks(db, locale)
    await add_register_rows(db, ("黄晓明", "DEMO-B2", 2004), ("黄小明", "DEMO-B1", 2005))
    (secretary,) = await _users(client, demo, locale, "王芳")
    lost = await client.user(70001, "Huang", language_code=TELEGRAM_CODES[locale])
    # Someone with no account is offered /relink at /start.
    await lost.send("/start")
    assert "/relink" in (await lost.wait_reply()).text
    await _file_request(
        lost,
        tr,
        "3. Reconnect after losing contact",
        name="黄小明",
        home_search="DEMO-B1",
        home_code="DEMO-B1",
    )
    notice = await secretary.wait_reply()
    assert tr._("Possible matches in the lost-contact register:") in notice.text
    # The closest row first: exact name, same branch, same year; then the similar name.
    assert notice.text.index("黄小明 · DEMO-B1 · 2005") < notice.text.index("黄晓明 · DEMO-B2")
    await secretary.press(notice, tr._("Accept"))
    card = await secretary.wait_edit()
    assert tr._("Identity confirmed") in card.button_texts

    await secretary.press(card, tr._("Identity confirmed"))
    choices = await secretary.wait_edit()
    await secretary.press(choices, "黄小明 · DEMO-B1 · 2005")
    card = await secretary.wait_edit()
    assert "✓ " + tr._("Identity confirmed") in card.button_texts

    await secretary.press(card, tr._("Education talk"))
    await secretary.wait_reply()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    await secretary.send(yesterday.isoformat())
    assert tr._("Who held the education talk?") in (await secretary.wait_reply()).text
    await secretary.send("王芳")
    card = await secretary.wait_reply()
    await secretary.press(card, tr._("Dues settled"))
    await secretary.wait_reply()
    await secretary.send("6")
    card = await secretary.wait_reply()
    await secretary.press(card, tr._("Assign to branch"))
    units = await secretary.wait_edit()
    await _pick(secretary, units, "DEMO-B1")
    card = await secretary.wait_edit()
    await secretary.press(card, tr._("System flag cleared"))
    card = await secretary.wait_edit()
    await secretary.press(card, tr._("Complete"))
    assert tr._("completed") in (await secretary.wait_edit()).text

    # The member heard of the acceptance and of each step, and last, that they are back.
    heard = [(await lost.wait_reply()).text for _ in range(7)]
    assert all("#1" in text for text in heard[:6])
    assert "DEMO-B1" in heard[-1]
    await lost.send("/me")
    me = await lost.wait_reply()
    assert "黄小明" in me.text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, 70001)
        assert account is not None and account.person is not None
        assert account.person.status is PersonStatus.REGULAR
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B1"
        steps = [e.details.get("step") for e in await queries.audit_entries(session)]
    assert [s for s in steps if s] == [
        "identity",
        "education_talk",
        "dues",
        "assignment",
        "system_flag",
    ]


async def test_rejection_with_a_reason_and_reopening(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    member, secretary = await _users(client, demo, "zh_Hans", "张伟", "王芳")
    tr = Translator("zh_Hans")
    await _file_request(member, tr, "1. Report as a mobile member")
    notice = await secretary.wait_reply()
    await secretary.press(notice, "驳回")
    assert "驳回理由" in (await secretary.wait_reply()).text
    await secretary.send("请先与支部书记面谈")
    rejected = await secretary.wait_reply()
    assert "已驳回" in rejected.text
    told = await member.wait_reply()
    assert "被驳回" in told.text and "请先与支部书记面谈" in told.text
    # The old notice's Accept button can't bring a rejected request back.
    update_id = await secretary.press_data(notice, "rl:acc:1")
    answer = await secretary.callback_answer(update_id)
    assert answer["text"] == "此申请已被驳回。如需重新审批，请先重新受理。未做任何更改。"
    assert (await request_row(db)).state is RequestState.REJECTED
    assert rejected.button_texts == ["重新受理"]
    await secretary.press(rejected, "重新受理")
    reopened = await secretary.wait_edit()
    await secretary.press(reopened, "接受")
    assert "有效" in (await secretary.wait_edit()).text
    async with db() as session:
        entries = await queries.audit_entries(session, action="relink.rejected")
    assert entries[0].details["reason"] == "请先与支部书记面谈"


async def test_asking_for_more_and_the_answer(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _everyone_speaks(db, "en")
    member, secretary = await _users(client, demo, "en", "刘洋", "王芳")
    tr = Translator("en")
    await _file_request(member, tr, "1. Report as a mobile member")
    notice = await secretary.wait_reply()
    await secretary.press(notice, "Ask for more")
    await secretary.wait_reply()
    await secretary.send("Which employer, and for how long?")
    asked = await secretary.wait_reply()
    assert "more information requested" in asked.text
    question = await member.wait_reply()
    assert "Which employer, and for how long?" in question.text
    await member.press(question, "Answer")
    await member.wait_reply()
    await member.send("Huawei, two years")
    assert "Your answer was sent to your branch" in (await member.wait_reply()).text
    answered = await secretary.wait_reply()
    assert "Huawei, two years" in answered.text and "Accept" in answered.button_texts
    await secretary.press(answered, "Accept")
    assert "active" in (await secretary.wait_edit()).text


async def test_expired_transfer_is_a_pocket_member_for_both_secretaries_and_the_admin(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _everyone_speaks(db, "en")
    member, home, receiving, admin = await _users(
        client, demo, "en", "杨磊", "陈静", "王芳", "林书记"
    )
    tr = Translator("en")
    await _file_request(
        member, tr, "2. Transfer my ties", other_search="DEMO-B1", other_code="DEMO-B1"
    )
    notice = await home.wait_reply()
    await home.press(notice, "Accept")
    card = await home.wait_edit()
    await home.press(card, "Issue transfer letter")
    await home.wait_reply()
    await home.send("B2-7")
    await home.wait_reply()
    await home.send("10")  # typed validity
    await home.wait_reply()
    await receiving.wait_reply()  # the request was accepted
    to_accept = await receiving.wait_reply()
    now = dt.datetime.now(dt.UTC)
    assert await check_pocket_members(bot, now + dt.timedelta(days=9)) == 0
    assert await check_pocket_members(bot, now + dt.timedelta(days=10, minutes=1)) == 1
    flagged = {}
    for user in (home, receiving, admin):
        flagged[user.user_id] = await user.wait_reply()
        assert "Pocket member" in flagged[user.user_id].text
        assert "B2-7" in flagged[user.user_id].text
    heard = [(await member.wait_reply()).text for _ in range(3)]  # accepted, letter, expired
    assert "expired before the receiving branch accepted" in heard[-1]
    assert (await request_row(db)).state is RequestState.LETTER_EXPIRED
    # Too late to accept the old letter.
    update_id = await receiving.press_data(to_accept, "rl:xfr:1")
    answer = await receiving.callback_answer(update_id)
    assert answer["text"].startswith("The transfer letter has expired")
    # The job is idempotent: nothing new to flag.
    assert await check_pocket_members(bot, now + dt.timedelta(days=20)) == 0
    # The home branch follows up with a new letter, and this time it is accepted in time.
    home_card = flagged[home.user_id]
    assert home_card.button_texts == ["Issue transfer letter", "Cancel request"]
    await home.press(home_card, "Issue transfer letter")
    await home.wait_reply()
    await home.send("B2-7 bis")
    validity = await home.wait_reply()
    # 10 days in the city, the configured default (ZHIBU_RELINK_LETTER_DAYS, 30), 3 months at most.
    assert validity.button_texts == ["10 days", "30 days", "90 days"]
    await home.press(validity, "30 days")
    assert "B2-7 bis" in (await home.wait_edit()).text
    renewed = await receiving.wait_reply()
    await receiving.press(renewed, "Accept the transfer")
    assert "completed" in (await receiving.wait_edit()).text
    async with db() as session:
        account = await queries.account_by_telegram_id(session, demo["杨磊"].telegram_id)
        assert account is not None and account.person is not None
        assert account.person.branch is not None and account.person.branch.code == "DEMO-B1"
        issued = await queries.audit_entries(session, action="relink.letter_issued")
    assert [e.details.get("replaces") for e in issued] == [None, "B2-7"]


async def test_a_member_cannot_decide_their_own_request_nor_a_stranger_see_it(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _everyone_speaks(db, "en")
    member, other_secretary, secretary = await _users(client, demo, "en", "李强", "周涛", "王芳")
    sent = await _file_request(member, Translator("en"), "1. Report as a mobile member")
    update_id = await member.press_data(sent, "rl:acc:1")
    answer = await member.callback_answer(update_id)
    assert answer["text"] == (
        "You cannot decide on your own request: the branch decides. Nothing was changed."
    )
    # A secretary of an uninvolved branch doesn't even see it.
    await other_secretary.send("/relink")
    listing = await other_secretary.wait_reply()
    assert "李强" not in listing.text
    update_id = await other_secretary.press_data(listing, "rl:acc:1")
    answer = await other_secretary.callback_answer(update_id)
    assert answer["text"] == "This request does not exist or is not visible to you."
    update_id = await other_secretary.press_data(listing, "rl:v:1")
    answer = await other_secretary.callback_answer(update_id)
    assert answer["text"] == "This request does not exist or is not visible to you."
    assert (await request_row(db)).state is RequestState.SUBMITTED
    await secretary.wait_reply()
    # Sent again, /relink shows the open request instead of starting another.
    await member.send("/relink")
    assert "waiting for review" in (await member.wait_reply()).text


async def test_a_member_who_cannot_find_their_branch_reaches_the_admin_of_the_subtree(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    (admin,) = await _users(client, demo, "zh_Hans", "林书记")
    tr = Translator("zh_Hans")
    lost = await client.user(70003, "Wu", language_code="zh-hans")
    await lost.press(await relink_as_stranger(lost), tr._("3. Reconnect after losing contact"))
    await lost.wait_reply()
    await lost.send("吴小军")
    await lost.wait_reply()
    await lost.send("红旗厂")
    nothing = await lost.wait_reply()
    assert "没有找到与“红旗厂”相符的支部" in nothing.text
    await lost.press(nothing, "找不到我的支部")
    committees = await lost.wait_edit()
    assert committees.button_texts == ["DEMO 示范街道党工委"]
    await lost.press(committees, "DEMO 示范街道党工委")
    await lost.wait_reply()
    await lost.send("1998")
    await lost.wait_reply()
    await lost.send("杭州")
    await lost.press(await lost.wait_reply(), "跳过")
    await lost.wait_reply()
    await lost.send("138 0000 1234")
    summary = await lost.wait_reply()
    assert "示范街道党工委" in summary.text
    await lost.press(summary, "提交申请")
    assert "示范街道党工委" in (await lost.wait_edit()).text
    # No branch secretary can be identified: the committee's admin decides.
    notice = await admin.wait_reply()
    assert "吴小军" in notice.text and "138 0000 1234" in notice.text
    assert "失联党员名册中没有相符的记录" in notice.text
    await admin.press(notice, "接受")
    assert "已接受" in (await admin.wait_edit()).text


async def test_a_restart_mid_request_keeps_every_answer(
    settings: Settings, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    lost = await client.user(70004, "Sun", language_code="en")
    async with running_bot(settings):
        await lost.press(await relink_as_stranger(lost), "3. Reconnect after losing contact")
        await lost.wait_reply()
        await lost.send("孙立")
        await lost.wait_reply()
        await lost.send("DEMO-B2")
        found = await lost.wait_reply()
        await lost.press(found, "DEMO-B2 Second Party Branch")
        assert "which year" in (await lost.wait_reply()).text
    # A new process: the conversation resumes at the year, with the earlier answers kept.
    async with running_bot(settings):
        await lost.send("2001")
        assert "Where are you now?" in (await lost.wait_reply()).text
        await lost.send("Xi'an")
        await lost.press(await lost.wait_reply(), "Skip")
        await lost.press(await lost.wait_reply(), "Skip")
        summary = await lost.wait_reply()
        assert "孙立" in summary.text and "Second Party Branch" in summary.text
        assert "2001" in summary.text
        await lost.press(summary, "Send the request")
        assert "was sent to Second Party Branch" in (await lost.wait_edit()).text
    row = await request_row(db)
    assert (row.name, row.join_year, row.city) == ("孙立", 2001, "Xi'an")


async def test_two_deciders_pressing_at_once_decide_once(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _everyone_speaks(db, "en")
    member, secretary, admin = await _users(client, demo, "en", "李强", "王芳", "林书记")
    await _file_request(member, Translator("en"), "1. Report as a mobile member")
    notice = await secretary.wait_reply()
    await admin.send("/relink")
    listing = await admin.wait_reply()
    await admin.press(listing, "#1 李强")
    card = await admin.wait_reply()
    assert "Accept" in card.button_texts
    presses = await asyncio.gather(secretary.press(notice, "Accept"), admin.press(card, "Accept"))
    answers = [
        (await user.callback_answer(update_id)).get("text")
        for user, update_id in zip((secretary, admin), presses, strict=True)
    ]
    refusals = [text for text in answers if text]
    # Exactly one decision went through; the other was told why nothing changed.
    assert len(refusals) == 1
    assert refusals[0] in (
        "Someone else changed this request just now. Please look at it again.",
        "That is not possible while the request is: active: managed by both branches. "
        "Nothing was changed.",
    )
    row = await request_row(db)
    assert row.state is RequestState.ACTIVE and row.version == 2
    async with db() as session:
        assert len(await queries.audit_entries(session, action="relink.accepted")) == 1


async def test_the_member_withdraws_and_the_home_side_cancels_with_a_reason(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    await _everyone_speaks(db, "en")
    member, secretary = await _users(client, demo, "en", "张伟", "王芳")
    tr = Translator("en")
    await _file_request(member, tr, "1. Report as a mobile member")
    await secretary.wait_reply()
    await member.send("/relink")
    card = await member.wait_reply()
    await member.press(card, "Withdraw")
    assert "withdrawn" in (await member.wait_edit()).text
    assert "withdrawn by the member" in (await secretary.wait_reply()).text

    await _file_request(
        member, tr, "2. Transfer my ties", other_search="DEMO-B2", other_code="DEMO-B2"
    )
    notice = await secretary.wait_reply()
    await secretary.press(notice, "Accept")
    card = await secretary.wait_edit()
    await secretary.press(card, "Cancel request")
    await secretary.wait_reply()
    await secretary.send("The member stays in town after all")
    assert "cancelled" in (await secretary.wait_reply()).text
    heard = [(await member.wait_reply()).text for _ in range(2)]
    assert "The member stays in town after all" in heard[-1]
    async with db() as session:
        entries = await queries.audit_entries(session, action="relink.cancelled")
    assert entries[0].details["reason"] == "The member stays in town after all"


async def test_a_long_list_of_requests_comes_in_pages(
    bot: ZhibuApp, client: FakeTelegramClient, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        for n in range(12):
            account = Account(telegram_id=800_000 + n, telegram_language="en")
            session.add(account)
            await session.flush()
            new = service.NewRequest(
                type=RequestType.RECONNECT,
                name=f"Member {n:02d}",
                home_id=branch.id,
                receiving_id=None,
                join_year=2010,
                city="Hangzhou",
            )
            outcome = await service.submit_request(
                session, account=account, new=new, now=dt.datetime.now(dt.UTC), throttle=THROTTLE
            )
            assert outcome.request is not None, outcome
    (secretary, member) = await _users(client, demo, "en", "王芳", "李强")
    await secretary.send("/relink")
    first = await secretary.wait_reply()
    assert "page 1 of 2" in first.text
    # Oldest first, ten to a page.
    assert [b.split(" ", 1)[1] for b in first.button_texts[:10]] == [
        f"Member {n:02d}" for n in range(10)
    ]
    assert first.button_texts[10:] == ["›", "Make a request of my own"]
    await secretary.press(first, "›")
    second = await secretary.wait_edit()
    assert "page 2 of 2" in second.text and "Member 11" in second.text
    assert second.button_texts[2:] == ["‹", "Make a request of my own"]
    await secretary.press(second, second.button_texts[0])
    assert "Member 10" in (await secretary.wait_reply()).text
    # A member who leads nothing cannot page through the list.
    await member.send("/me")
    update_id = await member.press_data(await member.wait_reply(), "rll:0")
    assert "not available" in (await member.callback_answer(update_id))["text"]
