from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import dora_metrics as dm


def test_defaults_are_dora_cores() -> None:
    # `Config.from_toml("")` is dora_core::Config::default(): the kwargs defaults must match it.
    assert dm.Config() == dm.Config.from_toml("")
    assert json.loads(dm.Config().to_json()) == json.loads(dm.Config.from_toml("").to_json())
    c = dm.Config()
    assert c.days == 90
    assert c.until is None
    assert c.severities == ["P1", "P2"]
    assert c.tier_year == 2024
    assert c.lead_time_start == "first_commit"
    assert c.incident_window_hours == 24
    assert c.hotfix_prefixes == ["hotfix/", "hot-fix/", "fix/"]
    assert c.hotfix_window_hours == 24
    assert "renovate" in c.bot_name_patterns and "dependabot" in c.bot_name_patterns
    assert c.bot_use_account_type is True
    assert c.bot_min_pr_seconds is None
    assert c.rerun_excuse_minutes is None
    assert c.production_environments == []
    assert c.production_branch is None


def test_every_knob_matches_the_toml_spelling() -> None:
    kwargs = dm.Config(
        days=30,
        until="2026-11-01",
        production_environments=["prod-eu"],
        production_branch="release",
        severities=["p1"],
        rerun_excuse_minutes=15,
        incident_window_hours=12,
        lead_time_start="pr_created",
        tier_year=2023,
        hotfix_prefixes=["urgent/"],
        hotfix_window_hours=6,
        bot_name_patterns=["ci-bot"],
        bot_use_account_type=False,
        bot_min_pr_seconds=60,
    )
    toml = dm.Config.from_toml(
        """
        days = 30
        until = "2026-11-01T00:00:00Z"
        production_environments = ["prod-eu"]
        production_branch = "release"
        severities = ["P1"]
        rerun_excuse_minutes = 15
        incident_window_hours = 12
        lead_time_start = "pr_created"
        tier_year = 2023
        [hotfix]
        prefixes = ["urgent/"]
        window_hours = 6
        [bots]
        name_patterns = ["ci-bot"]
        use_account_type = false
        min_pr_seconds = 60
        """
    )
    assert kwargs == toml
    assert kwargs.until == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    assert "days=30" in repr(kwargs)


@pytest.mark.parametrize(
    "until",
    [
        "2026-11-01T00:00:00Z",
        "2026-11-01",
        "2026-11-01T01:00:00+01:00",
        dt.datetime(2026, 11, 1),  # naive: UTC
        dt.datetime(2026, 11, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.date(2026, 11, 1),
    ],
)
def test_until_spellings(until: str | dt.date) -> None:
    assert dm.Config(until=until).until == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def test_until_accepts_pandas_timestamps() -> None:
    pd = pytest.importorskip("pandas")
    assert dm.Config(until=pd.Timestamp("2026-11-01", tz="UTC")).until == dt.datetime(
        2026, 11, 1, tzinfo=dt.timezone.utc
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"days": 0}, "days must be at least 1"),
        ({"days": 5000}, "more than ten years"),
        ({"days": -1}, "days must be between"),
        ({"severities": ["P9"]}, "P9"),
        ({"tier_year": 2025}, "2025"),
        ({"lead_time_start": "first_review"}, "lead_time_start"),
        ({"until": "next tuesday"}, "until"),
        ({"until": 12}, "until"),
    ],
)
def test_invalid_values_raise_config_error(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(dm.ConfigError, match=fragment) as info:
        dm.Config(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, dm.DoraError)


def test_from_toml_rejects_unknown_keys_and_bad_syntax() -> None:
    with pytest.raises(dm.ConfigError, match="dayz"):
        dm.Config.from_toml("dayz = 30")
    with pytest.raises(dm.ConfigError):
        dm.Config.from_toml("days = ")


def test_config_is_immutable() -> None:
    with pytest.raises(AttributeError):
        dm.Config().days = 7  # type: ignore[misc]


def _readme_dora_toml() -> str:
    """The `dora.toml` example of the command's README: the file `dora` reads."""
    readme = Path(__file__).resolve().parents[2] / "dora-cli" / "README.md"
    return readme.read_text().split("```toml\n", 1)[1].split("```", 1)[0]


def test_from_toml_reads_a_real_dora_toml() -> None:
    """A dora.toml with [sources], [http], [sync] and [promotions] (the command's file) is accepted;
    its metric knobs are taken, the rest is checked and left to the sources."""
    text = _readme_dora_toml() + '\n[sync]\nincident_horizon_days = 14\n[promotions]\nbranches = ["develop"]\n'
    assert "[sources]" in text and "[http]" in text
    c = dm.Config.from_toml(text)
    assert c.days == 90
    assert c.until == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    assert c.production_environments == ["prod-eu"]
    assert c.rerun_excuse_minutes == 30
    assert c.bot_name_patterns == ["renovate", "dependabot", "[bot]"]
    # The sections are still checked: a typo in one names the key.
    with pytest.raises(dm.ConfigError, match="workspce"):
        dm.Config.from_toml(text.replace("workspace =", "workspce ="))
    with pytest.raises(dm.ConfigError, match="max_wait"):
        dm.Config.from_toml(text.replace("max_wait_seconds", "max_wait"))


@pytest.mark.parametrize("until", ["2026-11-01T00:00:00", "2026-11-01", "2026-11-01T01:00:00+01:00"])
def test_from_toml_until_spellings_match_the_command(until: str) -> None:
    assert dm.Config.from_toml(f'until = "{until}"').until == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    assert dm.Config(until=until).until == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def test_promotions_and_per_repository_settings_survive_replace_and_dicts() -> None:
    """A dora.toml's [promotions] and [repositories.<slug>] reach Python and are not
    dropped by replace(), to_dict()/from_dict() or pickling (they were: to_dict did not
    know them)."""
    import pickle

    toml = (
        "days = 30\n[promotions]\nbranches = [\"trunk\"]\nprefixes = [\"rel-\"]\n"
        "[repositories.payments-api]\nproduction_branch = \"master\"\nhotfix_prefixes = []\n"
    )
    c = dm.Config.from_toml(toml)
    assert c.promotion_branches == ["trunk"]
    assert c.promotion_prefixes == ["rel-"]
    assert c.repositories == {"payments-api": {"production_branch": "master", "hotfix_prefixes": []}}
    for again in (c.replace(days=45), dm.Config.from_dict(c.to_dict()), pickle.loads(pickle.dumps(c))):
        assert again.promotion_branches == ["trunk"]
        assert again.repositories == c.repositories
    assert c.replace(days=45).days == 45
    built = dm.Config(days=30, promotion_branches=["trunk"], promotion_prefixes=["rel-"],
                      repositories={"payments-api": {"production_branch": "master", "hotfix_prefixes": []}})
    assert built == c
    with pytest.raises(dm.ConfigError, match="hotfix_prefix"):
        dm.Config(repositories={"web": {"hotfix_prefix": ["x/"]}})


def test_per_repository_hotfix_prefixes_change_the_report() -> None:
    data = dm.sample_dataset()
    base = dm.Config(days=90, until=dm.SAMPLE_UNTIL)
    plain = dm.compute(data, base)
    flagged = [c for c in plain.to_dict()["changes"] if c["hotfix"]]
    assert flagged, "the sample has hotfixes"
    repo = flagged[0]["repository"]
    quiet = dm.compute(data, base.replace(repositories={repo: {"hotfix_prefixes": []}}))
    assert not [c for c in quiet.to_dict()["changes"] if c["hotfix"] and c["repository"] == repo]
