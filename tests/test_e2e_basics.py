"""End to end through the fake Bot API: /start, /help by role, /me, /lang, odd input."""

from bot.app import ZhibuApp
from bot.demo import DemoUser
from bot.fake_telegram import FakeTelegramClient, FakeTelegramServer


async def test_start_without_code_explains_in_user_language(
    bot: ZhibuApp, client: FakeTelegramClient
) -> None:
    zh = await client.user(1, "小明", language_code="zh-hans")
    en = await client.user(2, "Ann", language_code="en-GB")
    await zh.send("/start")
    await en.send("/start")
    assert "邀请链接" in (await zh.wait_reply()).text
    assert "invite link" in (await en.wait_reply()).text


async def test_help_lists_only_what_the_role_allows(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    stranger = await client.user(3, "Stranger", language_code="en")
    await stranger.send("/help")
    text = (await stranger.wait_reply()).text
    assert "/start" in text and "/invite" not in text and "registered" in text
    member = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await member.send("/help")
    text = (await member.wait_reply()).text
    assert "/me" in text and "/invite" not in text
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="zh-hans")
    await secretary.send("/help")
    text = (await secretary.wait_reply()).text
    assert "/invite" in text and "创建邀请" in text


async def test_me_shows_name_branch_and_roles(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    secretary = await client.user(demo["王芳"].telegram_id, "王芳", language_code="en")
    await secretary.send("/me")
    text = (await secretary.wait_reply()).text
    assert "王芳" in text
    assert "First Party Branch" in text
    assert "branch secretary of First Party Branch" in text


async def test_lang_switches_both_ways_and_every_reply_follows(
    bot: ZhibuApp, client: FakeTelegramClient, demo: dict[str, DemoUser]
) -> None:
    user = await client.user(demo["李强"].telegram_id, "Li", language_code="en")
    await user.send("/lang")
    menu = await user.wait_reply()
    assert menu.text == "Choose your language:"
    await user.press(menu, "中文（简体）")
    assert (await user.wait_edit()).text == "好的，今后我将用中文与您交流。"
    for command, expected in (
        ("/help", "您可以使用"),
        ("/me", "所在支部"),
        ("/nonsense", "没有这个命令"),
    ):
        await user.send(command)
        assert expected in (await user.wait_reply()).text
    await user.send("/lang")
    menu = await user.wait_reply()
    assert menu.text == "请选择语言："
    await user.press(menu, "English")
    assert (await user.wait_edit()).text == "Done. I will write to you in English from now on."
    await user.send("/help")
    assert "What you can do" in (await user.wait_reply()).text


async def test_odd_input_gets_a_short_answer(
    bot: ZhibuApp, client: FakeTelegramClient, telegram: FakeTelegramServer
) -> None:
    user = await client.user(5, "Odd", language_code="en")
    await user.send_sticker()
    assert "not waiting for anything" in (await user.wait_reply()).text
    await user.send("/frobnicate")
    assert "don't know that command" in (await user.wait_reply()).text
    await user.send("/cancel")
    assert "nothing to cancel" in (await user.wait_reply()).text
    await user.send("/lang")
    menu = await user.wait_reply()
    update_id = await user.press_data(menu, "lang:xx")  # forged
    answer = await user.callback_answer(update_id)
    assert "no longer active" in answer["text"]
    update_id = await user.press_data(menu, "totally:forged:data")
    assert "no longer active" in (await user.callback_answer(update_id))["text"]


async def test_command_menus_are_set_per_language(
    bot: ZhibuApp, client: FakeTelegramClient
) -> None:
    menus = {(c.get("language_code") or ""): c for c in await client.commands()}
    assert set(menus) >= {"", "zh", "en"}
