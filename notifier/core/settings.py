"""One settings object, read from the environment and `.env`, built at each entry point."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from notifier.core.errors import SettingsError
from notifier.numbers.weeks import parse_monthly, parse_weekly

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/guatu.db"
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
# The five credentials of the WeCom self-built app: all or none.
WECOM_SETTINGS = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
CHANNELS = ("telegram", "wecom", "sms")
_QUIET_RE = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def _is_set(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value().strip())
    return value is not None and str(value).strip() != ""


def parse_channel_order(value: str) -> list[str]:
    """Split "wecom, sms" into ["wecom", "sms"]; unknown or repeated names raise ValueError."""
    names = [part.strip().lower() for part in value.replace(";", ",").split(",") if part.strip()]
    unknown = [name for name in names if name not in CHANNELS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"渠道顺序应为 {'/'.join(CHANNELS)} 中不重复的若干项,如 wecom,sms:{value!r} / "
            f"expected distinct names among {', '.join(CHANNELS)}, e.g. wecom,sms: {value!r}"
        )
    return names


def check_aes_key(value: str) -> None:
    """WeCom's EncodingAESKey: 43 characters of base64 standing for a 32-byte AES key."""
    try:
        ok = len(value) == 43 and len(base64.b64decode(value + "=", validate=True)) == 32
    except binascii.Error:
        ok = False
    if not ok:
        raise ValueError(
            "EncodingAESKey 应为企业微信后台生成的43位字符 / expected the 43-character EncodingAESKey"
        )


class _LocaleLanguageFilter(PydanticBaseSettingsSource):
    """An environment source without a LANGUAGE that is not exactly zh or en: that one is the GNU
    locale list (LANGUAGE=en_US:en), not ours, and GUATU_LANGUAGE is the setting's name now."""

    def __init__(self, inner: PydanticBaseSettingsSource, *others: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner
        self.others = others  # GUATU_LANGUAGE given in any of these outranks a LANGUAGE here

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        data = dict(self.inner())
        here = {str(name).lower() for name in getattr(self.inner, "env_vars", {})}
        elsewhere = {str(name).lower() for other in self.others for name in getattr(other, "env_vars", {})}
        for key in ("guatu_language", "language"):
            legacy = key in data and "guatu_language" not in here
            if legacy and (data[key] not in ("zh", "en") or "guatu_language" in elsewhere):
                del data[key]
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    # GUATU_LANGUAGE; the old name LANGUAGE is also GNU gettext's locale list ("en_US:en"), so it is
    # read only when it is exactly zh or en (see _LocaleLanguageFilter).
    language: Literal["zh", "en"] = Field(
        default="zh", validation_alias=AliasChoices("guatu_language", "language")
    )
    office_name: str = "阿拉善盟发展和改革委员会"
    office_contact: str = "阿拉善盟发改委重点项目办 0483-8336000"
    secret_key: SecretStr | None = None
    public_base_url: str | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_bot_username: str = "guatu_bot"
    telegram_admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str | None = None

    # WeCom (企业微信) self-built app; WeCom is off unless the five credentials are all set.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: SecretStr | None = None
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin"
    # API requests per second across every process (shared through Redis).
    wecom_rate_per_sec: float = Field(default=20.0, gt=0)
    # Chat channels tried in order for a person without an order of their own (Person.channels).
    channel_order: str = "telegram,wecom,sms"

    sms_backend: Literal["twilio", "aliyun", "console", "file"] = "console"
    sms_file_path: Path = Path("./data/sms-outbox.jsonl")
    sms_signature: str = "【阿拉善盟发改委】"
    sms_price_per_segment: Decimal = Decimal("0.05")
    sms_rate_per_sec: float = Field(default=10.0, gt=0)
    sms_max_attempts: int = Field(default=6, ge=1)
    sms_segment_budget: int = Field(default=6, ge=1, le=8)
    sms_daily_cap_per_number: int = Field(default=4, ge=1)
    sms_template_registry: bool = False
    sms_batch_size: int = Field(default=200, ge=1)
    sms_concurrency: int = Field(default=64, ge=1)
    sms_lease_seconds: int = Field(default=60, ge=5)
    sms_retry_base_ms: int = Field(default=500, ge=1)
    sms_fanout: int = Field(default=4, ge=1, le=64)
    # Longest value of one template parameter (Alibaba Cloud's default for a variable is 35).
    sms_template_param_max: int = Field(default=35, ge=1, le=500)
    # A send whose outcome is unknown (timeout) is checked against the provider after this long.
    sms_reconcile_after_seconds: int = Field(default=15, ge=1)
    # How long after a campaign ends its page keeps counting the receipts still coming in.
    sms_receipt_window_hours: int = Field(default=72, ge=1)
    # A delivery refused with a code no table knows is held this long (the admin is told).
    sms_unknown_hold_minutes: int = Field(default=60, ge=1)
    quiet_hours: str = "22:00-08:00"

    # Secondary provider taking over while the primary fails (circuit breaker); empty disables.
    sms_fallback_backend: Literal["", "twilio", "aliyun", "console", "file"] = ""
    sms_breaker_failures: int = Field(default=5, ge=1)
    sms_breaker_cooldown_seconds: int = Field(default=300, ge=1)

    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_sign_name: str | None = None
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"
    aliyun_protocol: Literal["https", "http"] = "https"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from: str | None = None
    twilio_base_url: str | None = None

    # The dispatch calendar, in the office time zone: weekly specs "thu 09:00", monthly "10 09:00".
    schedule_prompt: str = "thu 09:00"
    schedule_reminder: str = "fri 09:00"
    schedule_deadline: str = "sat 12:00"
    schedule_bulletin: str = "mon 09:00"
    schedule_procedures_dispatch: str = "10 09:00"
    schedule_investment_dispatch: str = "20 09:00"
    schedule_monthly_report: str = "1 09:00"
    # Daily check for overdue milestones and new black-list entries (time of day, "09:30").
    schedule_alerts: str = "09:30"
    # Move prompts, reminders and sends off China's public holidays (with 调休 working days): cn or none.
    holiday_calendar: Literal["cn", "none"] = "cn"

    # Bulletin sign-off: "required" (an approver signs each draft off) or "auto".
    bulletin_approval: Literal["required", "auto"] = "required"
    # Two-person rule: whoever composed a draft may not approve it.
    bulletin_two_person: bool = False
    # Minutes before the send time at which the calendar composes the draft for sign-off.
    bulletin_compose_lead_minutes: int = Field(default=60, ge=0)
    # Hours after sending to remind leaders who have not acknowledged (已阅); 0 disables.
    read_reminder_hours: int = Field(default=24, ge=0)
    # Minutes before the send time at which approvers are reminded of an undecided draft.
    approval_remind_minutes: int = Field(default=30, ge=0)

    time_schedule_mode: Literal["months", "days"] = "months"
    black_list_lag_points: float = Field(default=20.0, ge=0, le=100)

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded-allow-ips: comma-separated IPs or networks, "*" for any); others' are ignored.
    trusted_proxies: str = "127.0.0.1,::1"
    # /openapi.json and the API docs: off unless asked for (development).
    web_openapi: bool = False

    # Spreadsheet import limits: larger files are refused before they are parsed.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    import_max_rows: int = Field(default=50_000, ge=1)
    # An .xlsx is a zip archive: refused when its entries unpack to more than this in total.
    import_max_unpacked_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    import_max_cells: int = Field(default=2_000_000, ge=1)
    # Reading a spreadsheet stops with a clear error after this long.
    import_max_seconds: float = Field(default=60.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _LocaleLanguageFilter(env_settings, dotenv_settings),
            _LocaleLanguageFilter(dotenv_settings, env_settings),
            file_secret_settings,
        )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"cannot parse {value!r} as a database URL") from exc
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(f"unsupported database {url.drivername!r}: use sqlite or postgresql")
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_aes_key(value.get_secret_value())
        return value

    @field_validator("channel_order")
    @classmethod
    def _channel_order(cls, value: str) -> str:
        return ",".join(parse_channel_order(value))

    @model_validator(mode="after")
    def _wecom_complete(self) -> Settings:
        given = {name for name in WECOM_SETTINGS if _is_set(getattr(self, name))}
        if given and given != set(WECOM_SETTINGS):
            missing = ", ".join(name.upper() for name in WECOM_SETTINGS if name not in given)
            raise ValueError(
                f"企业微信配置不完整,缺少 {missing} / WeCom settings incomplete, missing {missing}"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value.strip() and not _QUIET_RE.match(value):
            raise ValueError("expected HH:MM-HH:MM, for example 22:00-08:00, or empty to disable")
        return value.strip()

    @field_validator("schedule_prompt", "schedule_reminder", "schedule_deadline", "schedule_bulletin")
    @classmethod
    def _weekly_spec(cls, value: str) -> str:
        parse_weekly(value)
        return value

    @field_validator(
        "schedule_procedures_dispatch", "schedule_investment_dispatch", "schedule_monthly_report"
    )
    @classmethod
    def _monthly_spec(cls, value: str) -> str:
        parse_monthly(value)
        return value

    @field_validator("schedule_alerts")
    @classmethod
    def _daily_spec(cls, value: str) -> str:
        match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", value)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"expected a time of day like '09:30', got {value!r}")
        return value.strip()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        match = _QUIET_RE.match(self.quiet_hours)
        if not match:
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return time(h1, m1), time(h2, m2)

    @property
    def telegram_configured(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def wecom_configured(self) -> bool:
        """All five WeCom credentials are set (a partial set is refused when settings are loaded)."""
        return all(_is_set(getattr(self, name)) for name in WECOM_SETTINGS)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)


def load_settings(**overrides: object) -> Settings:
    """Build settings; a bad value raises SettingsError with one line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a rule across settings names them in its message
            raise SettingsError(f"配置错误 / invalid settings: {message}") from None
        name = str(error["loc"][0]).upper()
        raise SettingsError(f"配置错误 / invalid setting {name}: {message}") from None
