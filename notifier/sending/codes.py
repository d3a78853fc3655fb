"""What each provider error code means for the send loop: one table per provider, from its own docs.

Every refusal is one of six kinds, and the loop acts on the kind, never on a bare code:

- permanent — this recipient will not get it (invalid number, unsubscribed): `failed`, not retried;
- retry — not now (throttled, queue full, a server error): back off and try again;
- hold_day — a daily quota is used up: held until tomorrow, no attempt spent;
- content — the text or its template is refused: stop this text for everyone, tell the admin;
- account — credentials, balance or configuration: pause the whole campaign with the reason;
- unknown — a code not in the table: kept verbatim, held, and the admin told.

Only Twilio's 21610 (the recipient replied STOP) records an opt-out. A blocked keyword, a quota or
a template problem says nothing about the recipient's wishes.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    PERMANENT = "permanent"
    RETRY = "retry"
    HOLD_DAY = "hold_day"
    CONTENT = "content"
    ACCOUNT = "account"
    UNKNOWN = "unknown"


# Twilio REST API error codes, from Twilio's error dictionary (https://www.twilio.com/docs/api/errors,
# one page per code at https://www.twilio.com/docs/errors/<code>) and the Messages API reference
# (https://www.twilio.com/docs/messaging/api/message-resource). Codes 3xxxx arrive in status callbacks
# (undelivered / failed); the loop sees them only when a create call answers with one.
TWILIO: dict[int, Action] = {
    20003: Action.ACCOUNT,  # Authentication Error: wrong Account SID or Auth Token
    20005: Action.ACCOUNT,  # Account not active
    20008: Action.ACCOUNT,  # Resource not accessible with Test Account Credentials
    20404: Action.ACCOUNT,  # The requested resource was not found (wrong Account SID or API base)
    20429: Action.RETRY,  # Too Many Requests
    20500: Action.RETRY,  # Internal Server Error
    20503: Action.RETRY,  # Service Unavailable
    21211: Action.PERMANENT,  # Invalid 'To' Phone Number
    21212: Action.ACCOUNT,  # Invalid 'From' Phone Number
    21408: Action.PERMANENT,  # Permission to send an SMS has not been enabled for the region of 'To'
    21601: Action.ACCOUNT,  # Phone number is not a valid SMS-capable inbound phone number ('From')
    21602: Action.CONTENT,  # Message body is required
    21603: Action.ACCOUNT,  # 'From' phone number is required
    21604: Action.PERMANENT,  # 'To' phone number is required
    21606: Action.ACCOUNT,  # The 'From' phone number provided is not a valid message-capable Twilio number
    21608: Action.PERMANENT,  # Trial account: the 'To' number is not verified
    21609: Action.ACCOUNT,  # Invalid StatusCallback URL
    21610: Action.PERMANENT,  # Attempt to send to unsubscribed recipient (the recipient replied STOP)
    21611: Action.RETRY,  # This 'From' number has exceeded the maximum number of queued messages
    21612: Action.PERMANENT,  # The 'To' phone number is not currently reachable via SMS
    21614: Action.PERMANENT,  # 'To' number is not a valid mobile number
    21617: Action.CONTENT,  # The concatenated message body exceeds the 1600 character limit
    21701: Action.ACCOUNT,  # The Messaging Service does not exist
    21703: Action.ACCOUNT,  # The Messaging Service does not have a phone number available to send
    21704: Action.ACCOUNT,  # The Messaging Service contains no phone numbers
    30001: Action.RETRY,  # Queue overflow
    30002: Action.ACCOUNT,  # Account suspended
    30003: Action.PERMANENT,  # Unreachable destination handset
    30004: Action.PERMANENT,  # Message blocked (by the recipient or their carrier)
    30005: Action.PERMANENT,  # Unknown destination handset
    30006: Action.PERMANENT,  # Landline or unreachable carrier
    30007: Action.CONTENT,  # Message filtered: carrier violation (the content was filtered)
    30008: Action.RETRY,  # Unknown error (Twilio advises a retry)
    30009: Action.RETRY,  # Missing inbound segment
    30010: Action.ACCOUNT,  # Message price exceeds max price
    30022: Action.RETRY,  # US A2P 10DLC: rate limit exceeded
    30023: Action.HOLD_DAY,  # US A2P 10DLC: daily message cap reached
    30034: Action.ACCOUNT,  # US A2P 10DLC: message from an unregistered number
}
TWILIO_OPT_OUT = frozenset({21610})


# Alibaba Cloud SMS (dysmsapi 2017-05-25) codes: the domestic API error codes page
# (https://help.aliyun.com/zh/sms/developer-reference/api-error-codes, document 101346, which the
# SDK's SendSmsResponseBody and QuerySendDetailsResponseBody cite) and the OpenAPI gateway's common
# codes (signature, AccessKey, throttling, 5xx).
ALIYUN: dict[str, Action] = {
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": Action.ACCOUNT,  # 签名和模板类型不一致
    "isv.EXTEND_CODE_ERROR": Action.ACCOUNT,  # 扩展码使用错误
    "isv.SIGN_STATE_ILLEGAL": Action.ACCOUNT,  # 签名状态为“不可用”
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": Action.CONTENT,  # 国际/港澳台模板不支持发送境内号码
    "isv.DENY_IP_RANGE": Action.ACCOUNT,  # 源IP地址所在的地区被禁用
    "isv.DAY_LIMIT_CONTROL": Action.HOLD_DAY,  # 触发日发送限额(控制台设置的日发送总量)
    "isv.MONTH_LIMIT_CONTROL": Action.ACCOUNT,  # 触发月发送限额: no tomorrow lifts it
    "isv.SMS_CONTENT_ILLEGAL": Action.CONTENT,  # 短信内容包含禁止发送内容
    "isv.SMS_SIGN_ILLEGAL": Action.ACCOUNT,  # 签名禁止使用
    "isp.RAM_PERMISSION_DENY": Action.ACCOUNT,  # RAM权限不足
    "isv.OUT_OF_SERVICE": Action.ACCOUNT,  # 业务停机(余额不足)
    "isv.PRODUCT_UN_SUBSCRIPT": Action.ACCOUNT,  # 未开通云通信产品
    "isv.PRODUCT_UNSUBSCRIBE": Action.ACCOUNT,  # 产品未开通
    "isv.ACCOUNT_NOT_EXISTS": Action.ACCOUNT,  # 账户不存在
    "isv.ACCOUNT_ABNORMAL": Action.ACCOUNT,  # 账户异常
    "isv.SMS_TEMPLATE_ILLEGAL": Action.CONTENT,  # 该账号下找不到对应模板 / 模板未审核通过
    "isv.SMS_SIGNATURE_ILLEGAL": Action.ACCOUNT,  # 该账号下找不到对应签名
    "isv.INVALID_PARAMETERS": Action.CONTENT,  # 参数异常
    "isp.SYSTEM_ERROR": Action.RETRY,  # 系统错误
    "isv.MOBILE_NUMBER_ILLEGAL": Action.PERMANENT,  # 非法手机号
    "isv.MOBILE_COUNT_OVER_LIMIT": Action.PERMANENT,  # 手机号码数量超过限制
    "isv.TEMPLATE_MISSING_PARAMETERS": Action.CONTENT,  # 模板变量缺少对应参数值
    "isv.TEMPLATE_PARAMS_ILLEGAL": Action.CONTENT,  # 模板变量里包含非法关键字 / 变量属性不符
    "isv.BUSINESS_LIMIT_CONTROL": Action.RETRY,  # 业务限流; 天级 (per day) is a hold, see below
    "isv.INVALID_JSON_PARAM": Action.CONTENT,  # JSON参数不合法,只接受字符串值
    "isv.BLACK_KEY_CONTROL_LIMIT": Action.CONTENT,  # 黑名单管控: a blocked keyword in the text
    "isv.PARAM_LENGTH_LIMIT": Action.CONTENT,  # 参数超出长度限制
    "isv.PARAM_NOT_SUPPORT_URL": Action.CONTENT,  # 不支持URL
    "isv.AMOUNT_NOT_ENOUGH": Action.ACCOUNT,  # 账户余额不足
    "isv.SMS_TEST_SIGN_NAME_LIMIT": Action.ACCOUNT,  # 测试专用签名只能发送测试专用模板
    "isv.SMS_TEST_TEMPLATE_LIMIT": Action.ACCOUNT,  # 测试专用模板只能发送给绑定的测试号码
    "isv.SMS_TEST_NUMBER_LIMIT": Action.PERMANENT,  # 只能向已回复授权信息的手机号发送
    "isv.SECURITY_FROZEN_ACCOUNT": Action.ACCOUNT,  # 账户被冻结
    # The OpenAPI gateway, before the SMS service looks at the request.
    "MissingAuthorization": Action.ACCOUNT,
    "SignatureDoesNotMatch": Action.ACCOUNT,
    "InvalidAccessKeyId.NotFound": Action.ACCOUNT,
    "InvalidAccessKeyId.Inactive": Action.ACCOUNT,
    "Forbidden.RAM": Action.ACCOUNT,
    "Throttling": Action.RETRY,
    "Throttling.User": Action.RETRY,
    "Throttling.Api": Action.RETRY,
    "ServiceUnavailable": Action.RETRY,
    "InternalError": Action.RETRY,
}


def twilio_action(code: int | None, status: int | None) -> Action:
    """The kind of a Twilio refusal; a code not in the table falls back on the HTTP status only for
    throttling and server errors, otherwise it is unknown (held, the admin told)."""
    if code is not None and code in TWILIO:
        return TWILIO[code]
    if status == 429 or (status is not None and status >= 500):
        return Action.RETRY
    if status == 401:
        return Action.ACCOUNT
    return Action.UNKNOWN


def aliyun_action(code: str | None, message: str | None = None) -> Action:
    """The kind of an Alibaba Cloud refusal. Its flow control says in the message which window was hit
    (触发分钟级流控 / 小时级 / 天级): only the day-level one waits for tomorrow."""
    if code == "isv.BUSINESS_LIMIT_CONTROL" and message and "天级" in message:
        return Action.HOLD_DAY
    return ALIYUN.get(code or "", Action.UNKNOWN)


def meaning(provider: str | None, code: str | None, lang: str = "zh") -> str:
    """What a provider's code means, in the reader's language ("" when there is no code)."""
    from notifier.core.texts import EN, ZH, t

    if not code:
        return ""
    key = f"code.{(provider or '').split('+')[0]}.{code}"
    if key in ZH:
        return (EN if lang == "en" else ZH).get(key) or ZH[key]
    for name in ("twilio", "aliyun"):  # a fallback provider records which one answered in `provider`
        if f"code.{name}.{code}" in ZH:
            return t(f"code.{name}.{code}", lang)
    return t("code.unknown", lang)
