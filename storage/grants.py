"""The API's PostgreSQL role: what it may do to the tables it does not own.

Migrations run as the schema's owner (`SETTLEWATCH_MIGRATION_DATABASE_URL`); the API connects as
another role (`SETTLEWATCH_DATABASE_URL`) that owns nothing, so it can neither alter a table nor
switch a trigger off. After the last revision, `settlewatch migrate --grant-to ROLE` grants that
role, on every table of the schema: SELECT, INSERT, UPDATE and DELETE, or only what the table
declares in `Table.info[RUNTIME_PRIVILEGES]` (the audit log: SELECT and INSERT); SELECT only on
`alembic_version` (the API checks it is at the latest revision as it starts); USAGE and SELECT
on the sequences. Whatever else the role held on those tables is revoked, so running it again
after a revision that narrows a table takes the old privileges away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, MetaData, text

__all__ = [
    "DEFAULT_PRIVILEGES",
    "RUNTIME_PRIVILEGES",
    "GrantError",
    "declared_privileges",
    "grant_runtime_role",
]

#: the key of `Table.info` naming the only privileges the API's role gets on that table
RUNTIME_PRIVILEGES = "runtime_privileges"

#: what the API's role gets on a table that declares nothing
DEFAULT_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

_ALLOWED = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class GrantError(ValueError):
    """The role cannot be granted the API's privileges (unknown, privileged, or not PostgreSQL)."""


def declared_privileges(metadata: Iterable[MetaData]) -> dict[str, tuple[str, ...]]:
    """Table name → the privileges its `info[RUNTIME_PRIVILEGES]` declares, for the tables that
    declare some."""
    return {
        table.name: tuple(table.info[RUNTIME_PRIVILEGES])
        for md in metadata
        for table in md.tables.values()
        if RUNTIME_PRIVILEGES in table.info
    }


def grant_runtime_role(
    *, conn: Connection, role: str, restricted: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Grant `role` the API's privileges on the current schema; returns table → privileges.

    Raises:
        GrantError: not PostgreSQL, a malformed or unknown role, or a role that could undo
            the restrictions (a superuser, the migrating role itself, or the tables' owner).
    """
    if conn.dialect.name != "postgresql":
        raise GrantError(f"--grant-to needs PostgreSQL (roles); this is {conn.dialect.name}")
    if not _ROLE_NAME.fullmatch(role):
        raise GrantError(f"{role!r} is not a plain role name (letters, digits, _)")
    found = conn.execute(
        text(
            "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, current_user, 'MEMBER')"
            " OR EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema()"
            " AND pg_has_role(r.oid, t.tableowner, 'MEMBER'))"
            " FROM pg_roles r WHERE r.rolname = :role"
        ),
        {"role": role},
    ).one_or_none()
    if found is None:
        raise GrantError(f"no role {role!r}: create it first (CREATE ROLE {role} LOGIN ...)")
    if found[0]:
        # a superuser, or a member of the migrating role or of a table's owner, can ALTER the
        # tables and switch the audit log's triggers off: the very thing the role is for
        raise GrantError(
            f"{role!r} is a superuser, the migrating role or a tables' owner (or a member of "
            "one): the API needs a role that owns nothing"
        )
    for pattern in restricted.values():
        unknown = set(pattern) - _ALLOWED
        if unknown:
            raise GrantError(f"not a table privilege the API may get: {sorted(unknown)}")
    quote = conn.dialect.identifier_preparer.quote
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
        {"schema": schema},
    ).scalars()
    grantee, where = quote(role), quote(schema)
    conn.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {grantee}"))
    granted: dict[str, tuple[str, ...]] = {}
    for table in tables:
        if table == "alembic_version":
            privileges: tuple[str, ...] = ("SELECT",)
        else:
            privileges = tuple(restricted.get(table, DEFAULT_PRIVILEGES))
        target = f"{where}.{quote(table)}"
        conn.execute(text(f"REVOKE ALL ON TABLE {target} FROM {grantee}"))
        conn.execute(text(f"GRANT {', '.join(privileges)} ON TABLE {target} TO {grantee}"))
        granted[table] = privileges
    conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {grantee}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {grantee}"))
    return granted
