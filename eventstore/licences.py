"""E-licences (电子证照, table ``e_licenses``): issued on approval, revoked by a failed verification.

Both writers are idempotent: the licence number is computed by the lifecycle from business keys
(``schemas.effects.license_number``), and a revocation applies once.
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
        """UPDATE e_licenses SET revoked_at = now(), revoked_reason = $2
           WHERE license_no = $1 AND revoked_at IS NULL""",
        license_no,
        reason,
    )
    return bool(status == "UPDATE 1")
