"""The applicants' side of the reform (最多跑一次, DOMAIN.md §1, §4): enterprise accounts whose profile is entered
once, applications that pick their process variant from the catalog, signed commitments (容缺 / 告知承诺), the
applicant's own steps in the process (corrections, 容缺 supply, revisions, withdrawal), progress against the cap,
trips to the window, ratings, and messages by e-mail/SMS.

Services take a session (and `now`) and never commit; engine/web/portal/ holds the pages.
"""
