"""Errors of the bureau's records (problem slugs `applicant-not-found`, `invalid-catalog`, ...)."""

from __future__ import annotations

from engine.errors import Conflict, InvalidInput, NotFound


class ApplicantNotFound(NotFound):
    """Applicant profile not found"""


class ObligationNotFound(NotFound):
    """Formal-document obligation not found"""


class ObligationFulfilled(Conflict):
    """Formal-document obligation already fulfilled"""


class InvalidCatalog(InvalidInput):
    """Invalid matter catalog"""


class PermitNotFound(NotFound):
    """Permit not found"""
