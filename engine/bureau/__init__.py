"""The approval bureau's records kept beside the process engine (DOMAIN.md §1, §4): applicant profiles entered
once, the matter catalog with its preconditions and regional-assessment zones, credit records, numbered notices
(an outbox with a pluggable sender), permits and their documents, the feed shared with enforcement departments,
deemed approvals, escalations and formal-document obligations.

Services take a session (never commit); `deps.BureauDeps` gives the handlers in workers/ what they need, each
call in its own transaction, idempotent by job id.
"""
