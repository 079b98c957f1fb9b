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
    """Record an issued licence (``deemed``: minted on deemed approval); False if recorded before."""
    row = {
        "license_no": license_no,
        "project_id": project_id,
        "matter_code": matter_code,
        "department": department,
        "holder": holder,
        "deemed": deemed,
    }
    return await insert_once(db, "e_licenses", row, conflict="(license_no)")


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
