"""Repositories: each takes a `Database`, accepts and returns records (storage.records)."""

from storage.repos.ai import AICallRepo, AISettingsRepo
from storage.repos.audit import AuditRepo
from storage.repos.campaigns import CampaignRepo
from storage.repos.clients import ClientRepo
from storage.repos.contacts import ContactRepo
from storage.repos.inbound import InboundRepo
from storage.repos.messages import MessageRepo
from storage.repos.operators import OperatorRepo
from storage.repos.sessions import SessionRepo

__all__ = [
    "AICallRepo",
    "AISettingsRepo",
    "AuditRepo",
    "CampaignRepo",
    "ClientRepo",
    "ContactRepo",
    "InboundRepo",
    "MessageRepo",
    "OperatorRepo",
    "SessionRepo",
]
