"""Accounts, roles, department scoping, password and token checks (DESIGN.md §3.7, §6).

- `roles`: Role, Principal.          - `accounts`: create/disable/unlock users, sign-in with lock-out.
- `passwords`: argon2id hashing and the password policy.   - `tokens`: API bearer tokens.
- `policy`: which task / instance a principal may see or act on.   - `masking`: ID-card and phone masking.
- `departments`: codes and names from processes/departments.toml.  - `demo`: the demo accounts of `make run`.
HTTP-specific code (sessions, headers, CSRF) stays in engine/api and engine/web.
"""
