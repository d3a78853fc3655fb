"""The template registry (短信模板报备): China's carriers only pass texts registered in advance.

Each registered text maps to the provider's TemplateCode (the registry's `code`) and names its
parameters: `{name}` here is `${name}` in the template registered at Alibaba Cloud. With
SMS_TEMPLATE_REGISTRY on, a message to a mainland number (+86) must be one of the registered
templates with its parameters filled in (the signature in front is not part of the template); with
Alibaba Cloud as a provider every message must, since SendSms sends nothing but templates. Each
parameter value must fit the provider's limit (Alibaba Cloud: 35 characters by default).

The check runs at preview and campaign creation — an unregistered text, or a parameter over the
limit, is refused before anything is stored — and again at send time, where a delivery whose
template was removed in between is skipped with the reason `template_not_registered`, never
silently dropped.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import SmsTemplate
from notifier.core.errors import GuatuError
from notifier.core.settings import Settings
from notifier.sending.providers.base import TemplateUse

MAINLAND = "+86"
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class TemplateError(GuatuError):
    """A template that cannot be registered, or a text that matches none; the message says why."""


@dataclass(frozen=True)
class Registered:
    code: str
    body: str
    pattern: re.Pattern[str]


def compile_template(body: str) -> re.Pattern[str]:
    """The template as a pattern: its fixed text literally, each {placeholder} as a named group (a
    name used twice must carry the same text both times)."""
    if not body or not body.strip():
        raise TemplateError("模板内容为空 / the template is empty")
    parts: list[str] = []
    seen: set[str] = set()
    fixed = ""
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        raise TemplateError("模板中的花括号不成对 / unbalanced braces in the template") from None
    for literal, field, spec, conversion in parsed:
        parts.append(re.escape(literal))
        fixed += literal
        if field is not None:
            if not field.isidentifier() or spec or conversion:
                raise TemplateError(
                    f"占位符 {{{field}}} 不合规:只能是字母、数字、下划线 / bad placeholder {{{field}}}"
                )
            parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>.+?)")
            seen.add(field)
    if not fixed.strip():
        raise TemplateError(
            "模板必须含有固定文字,不能只有占位符 / a template needs fixed text, not only placeholders"
        )
    return re.compile("".join(parts), re.DOTALL)


def without_signature(body: str, signature: str) -> str:
    return body[len(signature) :] if signature and body.startswith(signature) else body


def matching_code(text: str, registered: Iterable[Registered]) -> str | None:
    """The code of the first template `text` (signature removed) is an instance of, or None."""
    return next((r.code for r in registered if r.pattern.fullmatch(text)), None)


def template_use(text: str, registered: Iterable[Registered]) -> TemplateUse | None:
    """The registered template `text` (signature removed) is, with its parameter values, or None."""
    for r in registered:
        found = r.pattern.fullmatch(text)
        if found is not None:
            return TemplateUse(code=r.code, params=found.groupdict())
    return None


def registry_required(settings: Settings) -> bool:
    """Whether texts are checked against the registry: on request, or whenever Alibaba Cloud sends."""
    return settings.sms_template_registry or "aliyun" in (settings.sms_backend, settings.sms_fallback_backend)


def needs_template(phone: str, *, everywhere: bool = False) -> bool:
    """Mainland numbers need a registered template; with Alibaba Cloud (`everywhere`) every number does."""
    return everywhere or phone.startswith(MAINLAND)


def templates_everywhere(settings: Settings) -> bool:
    return "aliyun" in (settings.sms_backend, settings.sms_fallback_backend)


def check_params(use: TemplateUse, *, limit: int, text: str) -> None:
    """Refuse a parameter value over the provider's per-variable limit, naming it."""
    for name, value in use.params.items():
        if len(value) > limit:
            raise TemplateError(
                f"模板 {use.code} 的变量 {{{name}}} 有 {len(value)} 个字,超过上限 {limit} 个字:“{value[:40]}”;"
                f"请缩短或拆分模板 / parameter {{{name}}} of {use.code} is {len(value)} characters, over the "
                f"limit of {limit}"
            )


async def registered_templates(session: AsyncSession) -> list[Registered]:
    rows = (await session.exec(select(SmsTemplate).order_by(col(SmsTemplate.code)))).all()
    return [Registered(r.code, r.body, compile_template(r.body)) for r in rows]


async def add_template(session: AsyncSession, *, code: str, body: str, note: str = "") -> SmsTemplate:
    """Register a template (the caller commits). A code already in use is refused."""
    code = code.strip()
    if not _CODE.match(code):
        raise TemplateError(f"模板编号 {code!r} 不合规:1–32 位字母、数字、_ . - / bad template code")
    compile_template(body)
    if (await session.exec(select(SmsTemplate).where(SmsTemplate.code == code))).first() is not None:
        raise TemplateError(f"模板编号 {code} 已存在 / template {code} already exists")
    template = SmsTemplate(code=code, body=body, note=note[:200])
    session.add(template)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise TemplateError(f"模板编号 {code} 已存在 / template {code} already exists") from None
    return template


async def remove_template(session: AsyncSession, *, code: str) -> None:
    template = (await session.exec(select(SmsTemplate).where(SmsTemplate.code == code))).first()
    if template is None:
        raise TemplateError(f"没有编号为 {code} 的模板 / no template {code}")
    await session.delete(template)


def check_registered(
    messages: Iterable[tuple[str, str]],
    registered: list[Registered],
    signature: str,
    *,
    everywhere: bool = False,
    param_limit: int | None = None,
) -> None:
    """Refuse when any (phone, body) that needs a template matches none, or fills a parameter past
    `param_limit` characters."""
    for phone, body in messages:
        if not needs_template(phone, everywhere=everywhere):
            continue
        text = without_signature(body, signature)
        use = template_use(text, registered)
        if use is None:
            shown = text if len(text) <= 60 else text[:60] + "…"
            raise TemplateError(
                f"短信须使用已报备的模板,这条与任何模板都不一致:“{shown}”;"
                f"请用 guatu sms template add 报备后再发 / the text to {phone} matches no registered template"
            )
        if param_limit is not None:
            check_params(use, limit=param_limit, text=text)
