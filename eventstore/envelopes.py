"""Decision envelopes the gateway accepted (table ``gateway_envelopes``): replay protection.

A department's signed decision claims its decision id (the department's own: ids are scoped by
department) for its digest; an honest retry of the same
decision counts one more use, another decision under the same id is refused. ``interfaces.auth``
raises its HTTP errors around these.
"""

from __future__ import annotations

from eventstore.store import Executor


async def claim_envelope(
    db: Executor,
    *,
    project_id: str,
    decision_id: str,
    operation: str,
    department: str,
    matter_code: str,
    digest: str,
    signature: str,
    expires_at: float,
) -> int | None:
    """Claim ``department``'s ``decision_id`` of ``project_id`` for ``digest``; return how often it was used.

    1 the first time, more for a retry of the same decision, None when the id was claimed for
    another decision (a replay to refuse).
    """
    uses = await db.fetchval(
        """INSERT INTO gateway_envelopes (project_id, decision_id, operation, department, matter_code,
                  decision_digest, first_signature, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8))
           ON CONFLICT (project_id, department, decision_id) DO UPDATE
               SET uses = gateway_envelopes.uses + 1, last_seen_at = now()
               WHERE gateway_envelopes.decision_digest = EXCLUDED.decision_digest
           RETURNING uses""",
        project_id,
        decision_id,
        operation,
        department,
        matter_code,
        digest,
        signature,
        expires_at,
    )
    return None if uses is None else int(uses)


async def release_envelope(db: Executor, *, project_id: str, department: str, decision_id: str, digest: str) -> None:
    """Give a decision id back (the workflow refused the decision, which left no trace there)."""
    await db.execute(
        """DELETE FROM gateway_envelopes
           WHERE project_id = $1 AND department = $2 AND decision_id = $3 AND decision_digest = $4""",
        project_id,
        department,
        decision_id,
        digest,
    )
