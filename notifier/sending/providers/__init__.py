"""SMS provider adapters behind `notifier.sending.providers.base.SmsProvider`, chosen by SMS_BACKEND."""

from __future__ import annotations

from typing import Any

from notifier.core.errors import SettingsError
from notifier.core.settings import Settings
from notifier.sending.providers.base import SmsProvider


def _single(backend: str, settings: Settings) -> SmsProvider:
    if backend == "file":
        from notifier.sending.providers.local import FileProvider

        return FileProvider(settings.sms_file_path)
    if backend == "console":
        from notifier.sending.providers.local import ConsoleProvider

        return ConsoleProvider()
    if backend == "twilio":
        from notifier.sending.providers.twilio import TwilioProvider

        return TwilioProvider(settings)
    if backend == "aliyun":
        from notifier.sending.providers.aliyun import AliyunProvider

        return AliyunProvider(settings)
    raise SettingsError(f"未知短信通道 SMS_BACKEND={backend}")


def build_provider(settings: Settings, *, redis: Any = None) -> SmsProvider:
    """The configured provider; with SMS_FALLBACK_BACKEND, both behind a Redis-shared circuit breaker."""
    primary = _single(settings.sms_backend, settings)
    if not settings.sms_fallback_backend:
        return primary
    if redis is None:
        raise SettingsError("SMS_FALLBACK_BACKEND 需要 Redis(断路器状态在各进程间共享)")
    from notifier.sending.providers.fallback import CircuitBreaker, FallbackProvider

    breaker = CircuitBreaker(redis, name=settings.sms_backend, threshold=settings.sms_breaker_failures,
                             cooldown=settings.sms_breaker_cooldown_seconds)  # fmt: skip
    return FallbackProvider(primary, _single(settings.sms_fallback_backend, settings), breaker=breaker)
