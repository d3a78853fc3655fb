"""The template registry (短信模板报备): China's carriers only pass texts registered in advance.

With SMS_TEMPLATE_REGISTRY on, a message to a mainland number (+86) must be one of the registered
templates with its {placeholders} filled in (the signature in front is not part of the template).
The check runs at preview and campaign creation — an unregistered text is refused before anything
is sent — and again at send time, where a delivery whose template was removed in between is
skipped with the reason `template_not_registered`, never silently dropped. Other numbers are not
affected.
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
    """The template as a pattern: its fixed text literally, each {placeholder} as some text."""
    if not body or not body.strip():
        raise TemplateError("模板内容为空 / the template is empty")
    parts: list[str] = []
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
            parts.append(r".+?")
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


def needs_template(phone: str) -> bool:
    return phone.startswith(MAINLAND)


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
    messages: Iterable[tuple[str, str]], registered: list[Registered], signature: str
) -> None:
    """Refuse when any (phone, body) to a mainland number matches no registered template."""
    for phone, body in messages:
        if needs_template(phone) and matching_code(without_signature(body, signature), registered) is None:
            shown = without_signature(body, signature)
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            raise TemplateError(
                f"发往 +86 号码的短信须使用已报备的模板,这条与任何模板都不一致:“{shown}”;"
                f"请用 guatu sms template add 报备后再发 / the text to {phone} matches no registered template"
            )
