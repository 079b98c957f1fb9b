"""E-licences (电子证照, table ``e_licenses``): issued on approval, revoked by a failed verification,
suspended, valid again or lapsed by their status (modes rule 2: ``set_license_status``).

Every writer is idempotent: the licence number is computed by the lifecycle from business keys
(``schemas.effects.license_number``), a revocation applies once, and a status change carries the
stream version of its event, so applying a batch again never turns a status back.
"""

from __future__ import annotations

from eventstore.store import Executor, insert_once


async def issue_license(
    db: Executor,
    license_no: str,
    project_id: str,
    matter_code: str,
    department: str,
    holder: str,
    *,
    deemed: bool = False,
) -> bool:
    """Record an issued licence (``deemed``: minted on deemed approval); False if recorded before.

    The licence records its issuing body and seal (``issuer``).
    """
    body, seal = await issuer(db, project_id, department)
    row = {
        "license_no": license_no,
        "project_id": project_id,
        "matter_code": matter_code,
        "department": department,
        "holder": holder,
        "deemed": deemed,
        "issuing_body": body,
        "seal": seal,
    }
    return await insert_once(db, "e_licenses", row, conflict="(license_no)")


async def issuer(db: Executor, project_id: str, department: str) -> tuple[str | None, str | None]:
    """The body that issues a project's licence of ``department``, and the seal it bears.

    Under the zone policy the project registered under (``project_content_versions``): a zone with
    one seal for its approvals (一枚印章管审批: ``approval_seal``, e.g. Xiangyuan's 行政审批专用章)
    issues every licence as its ``approval_body`` under that seal; any other zone's department
    issues under its own seal (None), named by the catalog the project registered under. (None,
    None) for a project registered before its versions were recorded.
    """
    row = await db.fetchrow(
        """SELECT z.content ->> 'approval_body' AS body, z.content ->> 'approval_seal' AS seal,
                  (SELECT d ->> 'name_zh' FROM jsonb_array_elements(c.content -> 'departments') d
                   WHERE d ->> 'code' = $2) AS department
           FROM project_content_versions p
           JOIN content_versions z ON z.version = p.zone
           JOIN content_versions c ON c.version = p.catalog
           WHERE p.project_id = $1""",
        project_id,
        department,
    )
    if row is None:
        return None, None
    if row["seal"]:
        return row["body"], row["seal"]
    return row["department"], None


async def revoke_license(db: Executor, license_no: str, reason: str) -> bool:
    """Mark a licence revoked; False if it is unknown or was revoked before."""
    status = await db.execute(
        """UPDATE e_licenses SET revoked_at = now(), revoked_reason = $2, status = 'revoked',
                  status_reason = $2, status_changed_at = now()
           WHERE license_no = $1 AND revoked_at IS NULL""",
        license_no,
        reason,
    )
    return bool(status == "UPDATE 1")


async def set_license_status(db: Executor, license_no: str, status: str, reason: str, version: int) -> bool:
    """Set a licence's ``status`` (valid, suspended, lapsed) as of stream ``version``.

    False if the licence is unknown, revoked, or already carries this or a later version's status
    (a batch applied twice, or after a later one). Legal sources: suspension 国办发〔2019〕11号 (容缺:
    the consequence of missing the deadline), lapse 建筑法 §9.
    """
    result = await db.execute(
        """UPDATE e_licenses SET status = $2, status_reason = $3, status_version = $4, status_changed_at = now()
           WHERE license_no = $1 AND status <> 'revoked' AND status_version < $4""",
        license_no,
        status,
        reason,
        version,
    )
    return bool(result == "UPDATE 1")
