"""Type stubs of the Rust extension `dora_metrics._native` (use `dora_metrics` instead)."""

import datetime
from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, final

__all__ = [
    "__version__",
    "AuthError",
    "Bitbucket",
    "Config",
    "ConfigError",
    "Dataset",
    "DatasetError",
    "DoraError",
    "IncidentIo",
    "Jsm",
    "NotFoundError",
    "Opsgenie",
    "PagerDuty",
    "RateLimitError",
    "Report",
    "SourceError",
    "Store",
    "StoreError",
    "collect",
    "compute",
    "inventory",
]

__version__: str

class _ArrowStream(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    def __len__(self) -> int: ...

class _ConfigDict(TypedDict):
    """`Config.to_dict()`: the constructor's keywords, JSON-able."""

    days: int
    until: str | None
    production_environments: list[str]
    production_branch: str | None
    severities: list[str]
    rerun_excuse_minutes: int | None
    incident_window_hours: int
    lead_time_start: str
    tier_year: int
    hotfix_prefixes: list[str]
    hotfix_window_hours: int
    bot_name_patterns: list[str]
    bot_use_account_type: bool
    bot_min_pr_seconds: int | None
    industry: str | None
    org_size: str | None
    promotion_branches: list[str]
    promotion_prefixes: list[str]
    repositories: dict[str, _RepositoryRules]

class _RepositoryRules(TypedDict, total=False):
    """Per-repository settings (`[repositories.<slug>]` in dora.toml)."""

    production_branch: str
    development_branch: str
    hotfix_prefixes: list[str]
    release_prefixes: list[str]

class DoraError(Exception):
    """Base class of every error raised by dora_metrics."""

class AuthError(DoraError):
    """Credentials are missing, wrong or lack a scope."""

    source_name: str | None

class RateLimitError(DoraError):
    """A rate limit was exhausted; `retry_after` is the server's hint in seconds."""

    source_name: str | None
    endpoint: str | None
    retry_after: float | None

class SourceError(DoraError):
    """A source failed or answered something unusable."""

    source_name: str | None

class NotFoundError(SourceError):
    """A workspace, repository or other resource does not exist (or is hidden)."""

class ConfigError(DoraError):
    """The configuration (of a report or of a source) is invalid."""

class DatasetError(DoraError):
    """A dataset (JSON, records or frames) could not be read."""

class StoreError(DoraError):
    """The event store (a SQLite file or a PostgreSQL database) could not be opened, read or written."""

@final
class Config:
    """Report configuration: the window and every choice a metric makes."""

    def __new__(
        cls,
        days: int = 90,
        until: str | datetime.date | None = None,
        *,
        production_environments: list[str] | None = None,
        production_branch: str | None = None,
        severities: list[str] | None = None,
        rerun_excuse_minutes: int | None = None,
        incident_window_hours: int = 24,
        lead_time_start: str = "first_commit",
        tier_year: int = 2024,
        hotfix_prefixes: list[str] | None = None,
        hotfix_window_hours: int = 24,
        bot_name_patterns: list[str] | None = None,
        bot_use_account_type: bool = True,
        bot_min_pr_seconds: int | None = None,
        industry: str | None = None,
        org_size: str | None = None,
        promotion_branches: list[str] | None = None,
        promotion_prefixes: list[str] | None = None,
        repositories: Mapping[str, _RepositoryRules] | None = None,
    ) -> Config: ...
    @staticmethod
    def from_toml(text: str) -> Config: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> Config: ...
    def to_dict(self) -> _ConfigDict: ...
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Config: ...
    def replace(self, **changes: Any) -> Config: ...
    @property
    def days(self) -> int: ...
    @property
    def until(self) -> datetime.datetime | None: ...
    @property
    def production_environments(self) -> list[str]: ...
    @property
    def production_branch(self) -> str | None: ...
    @property
    def severities(self) -> list[str]: ...
    @property
    def rerun_excuse_minutes(self) -> int | None: ...
    @property
    def incident_window_hours(self) -> int: ...
    @property
    def lead_time_start(self) -> str: ...
    @property
    def tier_year(self) -> int: ...
    @property
    def industry(self) -> str | None: ...
    @property
    def org_size(self) -> str | None: ...
    @property
    def hotfix_prefixes(self) -> list[str]: ...
    @property
    def hotfix_window_hours(self) -> int: ...
    @property
    def bot_name_patterns(self) -> list[str]: ...
    @property
    def bot_use_account_type(self) -> bool: ...
    @property
    def bot_min_pr_seconds(self) -> int | None: ...
    @property
    def promotion_branches(self) -> list[str]: ...
    @property
    def promotion_prefixes(self) -> list[str]: ...
    @property
    def repositories(self) -> dict[str, _RepositoryRules]: ...

@final
class Dataset:
    """The native dataset (wrapped by `dora_metrics.Dataset`)."""

    def __new__(cls) -> Dataset: ...
    @staticmethod
    def from_json(text: str) -> Dataset: ...
    @staticmethod
    def from_tables(tables: Mapping[str, str]) -> Dataset: ...
    @staticmethod
    def from_arrow(tables: Mapping[str, _ArrowStream]) -> tuple[Dataset, dict[str, list[str]]]: ...
    def to_json(self, pretty: bool = False) -> str: ...
    def table_json(self, name: str) -> str: ...
    def counts(self) -> dict[str, int]: ...
    def repository_slugs(self) -> list[str]: ...
    def merged(self, other: Dataset) -> Dataset: ...
    def filter(
        self,
        repositories: list[str] | None = None,
        since: str | datetime.date | None = None,
        until: str | datetime.date | None = None,
    ) -> Dataset: ...

@final
class Report:
    """The native report (wrapped by `dora_metrics.Report`)."""

    @staticmethod
    def from_json(text: str, config: str | None = None) -> Report: ...
    @property
    def config(self) -> Config | None: ...
    @property
    def recovery_headline_seconds(self) -> float | None: ...
    def to_json(self, pretty: bool = False) -> str: ...
    def head_json(self) -> str: ...
    def table(self, name: str, repository: str | None = None, by: str | None = None) -> _ArrowStream: ...

@final
class Bitbucket:
    """Bitbucket Cloud as a delivery source."""

    def __new__(
        cls,
        workspace: str,
        repos: list[str] | None = None,
        *,
        base_url: str | None = None,
        email: str | None = None,
        api_token: str | None = None,
        access_token: str | None = None,
        max_commit_pages: int | None = None,
        max_wait_seconds: float | None = None,
    ) -> Bitbucket: ...
    @property
    def workspace(self) -> str: ...
    @property
    def repos(self) -> list[str]: ...
    @property
    def base_url(self) -> str: ...

@final
class PagerDuty:
    """PagerDuty incidents (`PAGERDUTY_TOKEN` by default)."""

    def __new__(
        cls,
        token: str | None = None,
        *,
        base_url: str | None = None,
        service_ids: list[str] | None = None,
        services: Mapping[str, list[str]] | None = None,
        severity_overrides: Mapping[str, str] | None = None,
        max_wait_seconds: float | None = None,
    ) -> PagerDuty: ...

@final
class Opsgenie:
    """Opsgenie alerts or incidents (`OPSGENIE_API_KEY` by default)."""

    def __new__(
        cls,
        token: str | None = None,
        *,
        base_url: str | None = None,
        region: str = "us",
        incidents_api: bool = False,
        services: Mapping[str, list[str]] | None = None,
        severity_overrides: Mapping[str, str] | None = None,
        max_wait_seconds: float | None = None,
    ) -> Opsgenie: ...

@final
class Jsm:
    """Jira Service Management Operations alerts (`ATLASSIAN_EMAIL` + `ATLASSIAN_API_TOKEN`,
    else `BITBUCKET_EMAIL` + `BITBUCKET_API_TOKEN`; `JSM_CLOUD_ID` or `JSM_SITE`)."""

    def __new__(
        cls,
        cloud_id: str | None = None,
        *,
        site: str | None = None,
        email: str | None = None,
        api_token: str | None = None,
        base_url: str | None = None,
        services: Mapping[str, list[str]] | None = None,
        severity_overrides: Mapping[str, str] | None = None,
    ) -> Jsm: ...

@final
class IncidentIo:
    """incident.io incidents (`INCIDENTIO_API_KEY` by default)."""

    def __new__(
        cls,
        token: str | None = None,
        *,
        base_url: str | None = None,
        services: Mapping[str, list[str]] | None = None,
        severity_overrides: Mapping[str, str] | None = None,
        max_wait_seconds: float | None = None,
    ) -> IncidentIo: ...

@final
class Store:
    """The native event store (wrapped by `dora_metrics.Store`)."""

    def __new__(cls, path: str | None = None) -> Store: ...
    @property
    def path(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def sync(
        self,
        source: Any,
        incidents: Any = None,
        *,
        days: int = 90,
        until: str | datetime.date | None = None,
        incident_horizon_days: int = 30,
    ) -> dict[str, int]: ...
    def load(self) -> Dataset: ...
    def save(self, dataset: Dataset) -> None: ...
    def counts(self) -> dict[str, int]: ...
    def save_report(self, report: Report) -> int: ...
    def close(self) -> None: ...

def compute(dataset: Dataset, config: Config | None = None, now: str | datetime.date | None = None) -> Report: ...
def collect(
    source: Any,
    incidents: Any = None,
    *,
    days: int = 90,
    until: str | datetime.date | None = None,
) -> Dataset: ...
def inventory(
    source: Bitbucket,
    incidents: PagerDuty | Opsgenie | IncidentIo | Jsm | Dataset | None = None,
    *,
    days: int = 90,
    until: str | datetime.date | None = None,
    config: Config | None = None,
) -> str:
    """The read-only audit of `source` (and `incidents`) as JSON text."""
    ...
