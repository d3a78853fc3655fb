"""Enumerations stored in the database. Values are stable identifiers; labels live in notifier.core.texts."""

from enum import StrEnum


class UnitKind(StrEnum):
    BANNER = "banner"  # 旗
    DISTRICT = "district"  # 区
    PARK = "park"  # 园区
    DEPARTMENT = "department"  # 部门


class Role(StrEnum):
    LEAD = "lead"  # 项目负责人
    LEADER = "leader"  # 领导
    STAFF = "staff"  # 工作人员 / 部门联系人
    ADMIN = "admin"  # 管理员
    APPROVER = "approver"  # 审核人


class LeaderLevel(StrEnum):
    LEAGUE = "league"  # 盟级
    UNIT = "unit"  # 旗区/园区
    DEPARTMENT = "department"  # 部门


class Stage(StrEnum):
    PREPARATORY = "preparatory"  # 前期
    NEW = "new"  # 新开工
    CONTINUING = "continuing"  # 续建
    COMPLETED = "completed"  # 竣工投产


class WecomState(StrEnum):
    """What looking a person's mobile number up in WeCom (user/getuserid) found."""

    BOUND = "bound"  # Person.wecom_userid is set
    NO_USER = "no_user"  # no WeCom member has that number: not looked up again until a recheck
    NOT_VISIBLE = "not_visible"  # a member, but outside the app's visible range (WeCom refused to send)


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WECOM = "wecom"
    WEB = "web"
    IMPORT = "import"
    ADMIN = "admin"


class CampaignKind(StrEnum):
    BROADCAST = "broadcast"
    BULLETIN = "bulletin"
    REMINDER = "reminder"
    ALERT = "alert"


class CampaignState(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class BulletinKind(StrEnum):
    WEEKLY = "weekly"  # 每周通报
    PROCEDURES = "procedures"  # 手续调度 (10th)
    INVESTMENT = "investment"  # 开复工和投资调度 (20th)
    MONTHLY = "monthly"  # 月报告


class BulletinState(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
