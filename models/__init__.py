"""SQLModel tables, the async engine and sessions, and Alembic migrations."""

from models.access import AdminSession, WindowCounter
from models.base import utcnow
from models.enums import (
    BulletinKind,
    BulletinState,
    CampaignKind,
    CampaignState,
    Channel,
    DeliveryState,
    LeaderLevel,
    Role,
    Stage,
    UnitKind,
    WecomState,
)
from models.governance import BulletinCopy, BulletinDecision, BulletinRead, BulletinRecipient
from models.messaging import Campaign, Delivery, OptOut, ProviderStatus, SmsTemplate
from models.org import Invite, Person, Unit
from models.projects import Milestone, ProcedureItem, ProgressReport, Project, WeekPrompt
from models.records import AlertRecord, AuditLog, Bulletin, JobRun, WallLink

__all__ = [
    "AdminSession",
    "AlertRecord",
    "AuditLog",
    "Bulletin",
    "BulletinCopy",
    "BulletinDecision",
    "BulletinRead",
    "BulletinRecipient",
    "BulletinKind",
    "BulletinState",
    "Campaign",
    "CampaignKind",
    "CampaignState",
    "Channel",
    "Delivery",
    "DeliveryState",
    "Invite",
    "JobRun",
    "LeaderLevel",
    "Milestone",
    "OptOut",
    "Person",
    "ProcedureItem",
    "ProviderStatus",
    "ProgressReport",
    "Project",
    "Role",
    "SmsTemplate",
    "Stage",
    "Unit",
    "UnitKind",
    "WallLink",
    "WecomState",
    "WeekPrompt",
    "WindowCounter",
    "utcnow",
]
