"""ORM tables only: no business logic, no SpiffWorkflow imports. Importing this registers every table."""

from engine.models.account import ApiToken, LoginAttempt, User, UserDepartment
from engine.models.applicant import Applicant, ProfileSubmission
from engine.models.bureau_record import (
    AccountabilityRecord,
    CreditRecord,
    DocumentSequence,
    EnforcementShare,
    Escalation,
    FormalDocumentObligation,
    Notice,
    Permit,
    ProjectRegistration,
)
from engine.models.calendar_year import CalendarYear
from engine.models.camunda_deployment import CamundaDeployment
from engine.models.catalog_version import CatalogVersion
from engine.models.chain_checkpoint import ChainCheckpoint
from engine.models.chain_head import ChainHead
from engine.models.clock_pause import ClockPause
from engine.models.definition import ProcessDefinition
from engine.models.document import Document
from engine.models.human_task import HumanTask, HumanTaskStatus
from engine.models.incident import Incident, IncidentKind, IncidentStatus
from engine.models.instance import InstanceStatus, ProcessInstance
from engine.models.instance_event import EventKind, InstanceEvent
from engine.models.notification import Notification, NotificationCursor
from engine.models.portal import ApplicantAccount, Application, Commitment, ServiceRating, Trip
from engine.models.service_job import OPEN_JOB_STATUSES, ServiceJob, ServiceJobStatus
from engine.models.sim_clock import SimulatedTime
from engine.models.task_draft import TaskDraft
from engine.models.timer import Timer, TimerStatus

__all__ = [
    "ApplicantAccount",
    "Application",
    "Commitment",
    "Document",
    "Notification",
    "NotificationCursor",
    "ServiceRating",
    "Trip",
    "AccountabilityRecord",
    "Applicant",
    "CatalogVersion",
    "CreditRecord",
    "DocumentSequence",
    "EnforcementShare",
    "Escalation",
    "FormalDocumentObligation",
    "Notice",
    "Permit",
    "ProfileSubmission",
    "ProjectRegistration",
    "ApiToken",
    "LoginAttempt",
    "User",
    "UserDepartment",
    "CalendarYear",
    "CamundaDeployment",
    "ChainCheckpoint",
    "ChainHead",
    "ClockPause",
    "EventKind",
    "HumanTask",
    "HumanTaskStatus",
    "Incident",
    "IncidentKind",
    "IncidentStatus",
    "InstanceEvent",
    "InstanceStatus",
    "OPEN_JOB_STATUSES",
    "ProcessDefinition",
    "ProcessInstance",
    "ServiceJob",
    "ServiceJobStatus",
    "TaskDraft",
    "SimulatedTime",
    "Timer",
    "TimerStatus",
]
