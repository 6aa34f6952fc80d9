"""The grading service against a database: campaigns, answers, prefill, codes, finalising."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from bot.__main__ import main
from bot.config import Settings
from bot.demo import DemoUser
from bot.errors import CommandError
from bot.grading import export, mass_codes, questionnaire, results, service, surveys
from bot.grading.cli import parse_bands, start_from_cli
from bot.grading.scoring import GradingConfig
from bot.i18n import Translator
from bot.uploads import UploadProblem, read_xlsx_rows
from handlers.grading_labels import export_labels
from storage import grading_queries as gq
from storage import queries
from storage.db import SessionFactory
from storage.models_grading import GradingCampaign, MassSurveyCode
from tests.support import grading

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


def test_config_round_trips_through_json() -> None:
    config = service.make_config(
        self_weight=0.3, superior_weight=0.7, bands=(95, 85, 65), satisfaction_floor=0.9
    )
    again = service.config_from_json(service.config_to_json(config))
    assert again == config
    assert service.config_from_json({}) == GradingConfig()
    with pytest.raises(service.CampaignError):
        service.make_config(bands=(60, 80, 90))
    with pytest.raises(service.CampaignError):
        service.make_config(bands=(90, 80))


def test_parse_answer_fits_the_item_type() -> None:
    q = service.load_default()
    assert service.parse_answer(q, "leader-committee", "yes") == "yes"
    assert service.parse_answer(q, "leader-committee", "maybe") is None
    assert service.parse_answer(q, "leader-ability", "4") == 4
    assert service.parse_answer(q, "leader-ability", "6") is None
    assert service.parse_answer(q, "leader-study", " 56 ") == 56
    assert service.parse_answer(q, "perf-attendance", "92.5%") == 92.5
    assert service.parse_answer(q, "leader-study", "-3") is None
    assert service.parse_answer(q, "leader-study", "many") is None
    assert service.parse_answer(q, "plan-tasks", "most") == "most"
    assert service.parse_answer(q, "plan-tasks", "lots") is None
    assert service.parse_answer(q, "perf-highlights", "  a   good  year ") == "a good year"


def test_bands_from_the_command_line() -> None:
    assert parse_bands("90,80,60") == (90, 80, 60)
    with pytest.raises(CommandError):
        parse_bands("90,80")
    with pytest.raises(CommandError):
        parse_bands("a,b,c")


async def test_start_needs_branches_and_a_future_deadline(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    async with db.begin() as session:
        root = await queries.org_by_code(session, "DEMO")
        assert root is not None
        with pytest.raises(service.CampaignError, match="future"):
            await service.start_campaign(
                session, root=root, deadline=NOW, config=GradingConfig(), now=NOW
            )
        campaign, count = await service.start_campaign(
            session,
            root=root,
            deadline=NOW + dt.timedelta(days=1),
            config=GradingConfig(),
            now=NOW,
        )
        rows = await gq.campaign_assessments(session, campaign.id)
        assert count == len(rows)
        assert [b.code for _, b in rows] == ["DEMO-B1", "DEMO-B2", "DEMO-B3"]
        assert [e.action for e in await queries.audit_entries(session)] == ["grading.start"]
        assert [(a.answers, a.submitted_at) for a, _ in rows] == [({}, None)] * 3


async def test_prefill_counts_the_activity_log(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    for month in (1, 2, 3, 5):
        await grading.log_activity(db, "DEMO-B1", dt.date(2026, month, 10), ["themed_day"])
    await grading.log_activity(
        db, "DEMO-B1", dt.date(2026, 4, 2), ["general_meeting", "lecture", "lecture"]
    )
    await grading.log_activity(db, "DEMO-B1", dt.date(2025, 12, 2), ["themed_day"])
    await grading.log_activity(db, "DEMO-B2", dt.date(2026, 6, 2), ["themed_day"])
    async with db() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        counts = await gq.activity_counts(session, branch_id=branch.id, year=2026)
    assert counts == {
        ("themed_day", 1): 1,
        ("themed_day", 2): 1,
        ("themed_day", 3): 1,
        ("themed_day", 5): 1,
        ("general_meeting", 4): 1,
        ("lecture", 4): 1,
    }
    suggestions = service.prefill_suggestions(service.load_default(), counts, 6)
    themed = suggestions["rules-themed-day"]
    assert (themed.answer, themed.evidence.periods_met, themed.evidence.target) == ("partly", 4, 6)
    assert suggestions["rules-lectures"].answer == 1
    assert suggestions["rules-life-meeting"].answer == "no"


async def test_mass_codes_are_hashed_and_work_once(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, campaign_id)
        branch = await queries.org_by_code(session, "DEMO-B2")
        assert campaign is not None and branch is not None
        codes = await mass_codes.create_mass_codes(
            session, campaign=campaign, branch_id=branch.id, count=2, actor=None, now=NOW
        )
        stored = list(await session.scalars(select(MassSurveyCode.code_hash)))
    assert sorted(stored) == sorted(mass_codes.hash_mass_code(c) for c in codes)
    code_hash = mass_codes.hash_mass_code(codes[0].lower())  # typed in lower case
    async with db.begin() as session:
        outcome = await mass_codes.answer_mass_survey(
            session, code_hash=code_hash, value="satisfied", now=NOW
        )
        assert outcome is mass_codes.CodeOutcome.VALID
    async with db.begin() as session:
        outcome = await mass_codes.answer_mass_survey(
            session, code_hash=code_hash, value="dissatisfied", now=NOW
        )
        assert outcome is mass_codes.CodeOutcome.USED
        counts = await surveys.visible_counts(
            session, campaign_id=campaign_id, branch_id=branch.id, closed=True
        )
    assert (counts.mass_total, counts.masses) == (1, None)  # hidden below five answers


async def test_superior_scores_from_xlsx() -> None:
    q = service.load_default()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Code", "leader", "plan", "rules", "venue", "support", "performance"])
    sheet.append(["B1", 15, 10, 10, 10, 10, 20])
    sheet.append(["B2", 16, 10, 10, 10, 10, 20])
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = read_xlsx_rows(buffer.getvalue())
    scores, problems = export.superior_from_rows(q, sheet.rows)
    assert scores == {
        "B1": {
            "leader": 15,
            "plan": 10,
            "rules": 10,
            "venue": 10,
            "support": 10,
            "performance": 20,
        }
    }
    assert problems == ['row 3: superior\'s points for "leader" must be within 0..15']
    assert read_xlsx_rows(b"not a workbook").problem is UploadProblem.NOT_XLSX


async def test_finalise_and_export_one_row_per_branch(
    db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    campaign_id = await grading.start_campaign(db)
    await grading.submit_answers(db, campaign_id, "DEMO-B1", {"leader-committee": "yes"})
    await grading.set_superior(db, campaign_id, "DEMO-B1", 92)
    async with db.begin() as session:
        campaign = await gq.campaign_by_id(session, campaign_id)
        assert campaign is not None
        rows = await results.finalise(session, campaign=campaign, actor=None, now=NOW)
        with pytest.raises(service.CampaignError):
            await results.finalise(session, campaign=campaign, actor=None, now=NOW)
    by_code = {r.branch.code: r for r in rows}
    assert by_code["DEMO-B1"].assessment.final_score == by_code["DEMO-B1"].result.final_score
    assert by_code["DEMO-B2"].assessment.grade is None  # nothing to grade it from
    data = export.export_xlsx(
        service.load_default(), rows, export_labels(Translator("zh_Hans")), closed=True
    )
    table = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert table[0][:2] == ("支部代码", "党支部") and table[0][-1] == "等次"
    assert [row[0] for row in table[1:]] == ["DEMO-B1", "DEMO-B2", "DEMO-B3"]


async def test_cli_starts_a_campaign(
    settings: Settings, db: SessionFactory, demo: dict[str, DemoUser]
) -> None:
    summary = await start_from_cli(
        settings.model_copy(update={"bot_token": None}),
        org_code="DEMO",
        deadline="2099-12-31",
        bands="95,85,65",
        satisfaction_floor=0.9,
    )
    assert summary.startswith("campaign 1 started for 3 branch(es) under DEMO")
    async with db() as session:
        campaign = await session.scalar(select(GradingCampaign))
    assert campaign is not None
    config = service.config_from_json(campaign.config)
    assert [b.min_score for b in config.bands] == [95, 85, 65, 0]
    assert config.mass_rate_floor == 0.9
    with pytest.raises(CommandError, match="no organisation node"):
        await start_from_cli(settings, org_code="NOPE", deadline="2099-12-31")
    with pytest.raises(CommandError, match="deadline"):
        await start_from_cli(settings, org_code="DEMO", deadline="someday")


async def test_cli_starts_a_campaign_with_a_chosen_questionnaire(
    settings: Settings,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped_dir = questionnaire.QUESTIONNAIRE_DIR
    monkeypatch.setattr(
        questionnaire, "QUESTIONNAIRE_DIR", grading.write_two_questionnaires(tmp_path)
    )
    quiet = settings.model_copy(update={"bot_token": None})
    with pytest.raises(
        CommandError, match=r"'nope' is not shipped; available: default-2012@2012\.1"
    ):
        await start_from_cli(quiet, org_code="DEMO", deadline="2099-12-31", questionnaire="nope")
    summary = await start_from_cli(
        quiet, org_code="DEMO", deadline="2099-12-31", questionnaire="county-2026@2026.1"
    )
    assert "with questionnaire county-2026@2026.1" in summary
    # Another year: one campaign per subtree and year.
    summary = await start_from_cli(quiet, org_code="DEMO", deadline="2099-12-31", year=2025)
    assert "with questionnaire default-2012@2012.1" in summary
    async with db() as session:
        first, second = (await session.scalars(select(GradingCampaign).order_by("id"))).all()
    assert (first.questionnaire_id, first.questionnaire_version) == grading.SECOND_QUESTIONNAIRE
    assert service.questionnaire_for(first).title.en == "County branch questionnaire"
    assert service.questionnaire_for(second) is questionnaire.shipped().default
    # Once its questionnaire is no longer shipped, the campaign is refused clearly.
    monkeypatch.setattr(questionnaire, "QUESTIONNAIRE_DIR", shipped_dir)
    with pytest.raises(service.CampaignError, match=r"county-2026 2026\.1, which this version"):
        service.questionnaire_for(first)


def test_the_fast_xlsx_writer_is_read_back_by_openpyxl() -> None:
    from bot.xlsx import sheet_bytes

    rows = [
        ["B1", "第一<党>支部 & 'x'", 12, 3.5, None, True],
        ["B2", "bad \x01 char", 0, -1.25, "", False],
    ]
    header = [f"c{i}" for i in range(30)]
    data = sheet_bytes("grading/2026 with a very long title indeed", header, rows)
    sheet = load_workbook(io.BytesIO(data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == tuple(header)
    assert table[1][:6] == ("B1", "第一<党>支部 & 'x'", 12, 3.5, None, True)
    assert table[2][:6] == ("B2", "bad  char", 0, -1.25, "", False)
    assert sheet.cell(row=1, column=30).value == "c29"  # column AD
    assert sheet.freeze_panes == "A2"


def test_zhibu_grading_start_command(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org = tmp_path / "org.csv"
    org.write_text(
        "code,parent,kind,name,name_en\nC1,,committee,街道党工委,Street Committee\n"
        "B1,C1,branch,第一支部,First Branch\nB2,C1,branch,第二支部,Second Branch\n",
        encoding="utf-8",
    )
    assert main(["org", "import", str(org)]) == 0
    capsys.readouterr()
    command = ["grading", "start", "--org", "C1", "--deadline", "2099-12-31"]
    options = ["--self-weight", "0.3", "--superior-weight", "0.7", "--bands", "85,75,60"]
    assert main([*command, *options, "--satisfaction-floor", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "campaign 1 started for 2 branch(es) under C1" in out
    assert "0 secretary account(s) will be notified by the running bot" in out
    assert main(["grading", "start", "--org", "C1", "--deadline", "tomorrow"]) == 1
    assert "the deadline must be a date" in capsys.readouterr().err
    assert main([*command, "--bands", "60,80,90"]) == 1
    assert "bands must be ordered" in capsys.readouterr().err
    # Another year: one campaign per subtree and year.
    assert main([*command, "--questionnaire", "default-2012", "--year", "2025"]) == 0
    assert "with questionnaire default-2012@2012.1" in capsys.readouterr().out
    assert main(command) == 1
    assert "campaign 1 already grades C1 for" in capsys.readouterr().err
    assert main([*command, "--questionnaire", "default-2012@1999"]) == 1
    err = capsys.readouterr().err
    assert "'default-2012@1999' is not shipped; available: default-2012@2012.1 (default)" in err


def test_superior_scores_typed_as_a_total_or_per_indicator() -> None:
    q = service.load_default()
    assert results.parse_superior(q, " 85.5 ") == 85.5
    assert results.parse_superior(q, "15，8、9 10,7 18") == {
        "leader": 15,
        "plan": 8,
        "rules": 9,
        "venue": 10,
        "support": 7,
        "performance": 18,
    }
    assert results.parse_superior(q, "101") is None
    assert results.parse_superior(q, "15 8 9") is None
    assert results.parse_superior(q, "16 8 9 10 7 18") is None
    assert results.parse_superior(q, "good") is None
    assert results.superior_points(q, {i.id: i.points for i in results.item_indicators(q)}) == 100
