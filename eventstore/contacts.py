"""Enterprise contacts (table ``enterprise_contacts``): personal data, encrypted, never in Temporal.

Each project's contact (``schemas.contact.EnterpriseContact``) is stored as AES-256-GCM ciphertext
(``cryptography``'s AESGCM: a fresh 96-bit nonce per write, the project id as associated data, so
a row copied to another project does not decrypt) under a key of ``DAIBAN_CONTACT_KEYS`` (key id ->
32 bytes, base64). Rotation: add a key, make it ``DAIBAN_CONTACT_KEY_ID`` (new writes use it), run
``rekey`` (``python -m interfaces.auth rekey-contacts``) to re-encrypt the rows under it, then drop
the old key. Reading decrypts with whichever configured key the row names.

Errors: ``ContactKeyMissing`` when a row names a key that is not configured; ``cryptography``'s
``InvalidTag`` when a row was tampered with.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventstore.store import Executor
from schemas.contact import EnterpriseContact


class ContactKeyMissing(Exception):
    """A stored contact names a key id that is not configured (``DAIBAN_CONTACT_KEYS``)."""


@dataclass(frozen=True)
class ContactCipher:
    """The configured keys (id -> 32 raw bytes) and the id new writes use (``current``)."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def from_config(cls, keys: dict[str, str], current: str | None) -> ContactCipher | None:
        """From base64 keys; ``current`` defaults to the last key listed. None without keys.

        Raises:
            ValueError: a key that is not 32 bytes of base64, or ``current`` not among the keys.
        """
        if not keys:
            return None
        raw = {k: base64.b64decode(v, validate=True) for k, v in keys.items()}
        bad = [k for k, v in raw.items() if len(v) != 32]
        if bad:
            raise ValueError(f"contact keys {bad}: each must be 32 bytes (AES-256), base64")
        chosen = current or list(raw)[-1]
        if chosen not in raw:
            raise ValueError(f"contact key id {chosen!r} is not among the configured keys")
        return cls(raw, chosen)

    def seal(self, project_id: str, contact: EnterpriseContact) -> tuple[str, bytes, bytes]:
        """(key id, nonce, ciphertext) of ``contact`` for ``project_id``."""
        nonce = os.urandom(12)
        data = contact.model_dump_json().encode()
        return self.current, nonce, AESGCM(self.keys[self.current]).encrypt(nonce, data, project_id.encode())

    def open(self, project_id: str, key_id: str, nonce: bytes, ciphertext: bytes) -> EnterpriseContact:
        """The contact of a stored row (``ContactKeyMissing``, ``InvalidTag``)."""
        key = self.keys.get(key_id)
        if key is None:
            raise ContactKeyMissing(f"contact of {project_id}: key {key_id!r} is not configured")
        data = AESGCM(key).decrypt(nonce, ciphertext, project_id.encode())
        return EnterpriseContact.model_validate_json(data)


@dataclass(frozen=True)
class ContactBook:
    """Where the contacts are kept: daiban's PostgreSQL (a pool or connection) and the keys."""

    db: Executor
    cipher: ContactCipher


async def store_contact(
    db: Executor, cipher: ContactCipher, project_id: str, contact: EnterpriseContact, by: str, *, replace: bool = False
) -> EnterpriseContact:
    """Store ``contact`` for the project unless one is stored (``replace``: over it); return the one stored."""
    key_id, nonce, ciphertext = cipher.seal(project_id, contact)
    conflict = (
        "DO UPDATE SET key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,"
        " stored_by = EXCLUDED.stored_by, stored_at = now()"
        if replace
        else "DO NOTHING"
    )
    await db.execute(
        "INSERT INTO enterprise_contacts (project_id, key_id, nonce, ciphertext, stored_by) VALUES ($1, $2, $3, $4, $5)"
        f" ON CONFLICT (project_id) {conflict}",
        project_id,
        key_id,
        nonce,
        ciphertext,
        by,
    )
    stored = await fetch_contact(db, cipher, project_id)
    assert stored is not None  # inserted now or before
    return stored


async def contact_stored_by(db: Executor, project_id: str) -> str | None:
    """Who stored the project's contact (a principal's name, or the service's); None when none is."""
    stored_by: str | None = await db.fetchval(
        "SELECT stored_by FROM enterprise_contacts WHERE project_id = $1", project_id
    )
    return stored_by


async def fetch_contact(db: Executor, cipher: ContactCipher, project_id: str) -> EnterpriseContact | None:
    """The project's contact, decrypted; None when none is stored."""
    row = await db.fetchrow(
        "SELECT key_id, nonce, ciphertext FROM enterprise_contacts WHERE project_id = $1", project_id
    )
    if row is None:
        return None
    return cipher.open(project_id, row["key_id"], bytes(row["nonce"]), bytes(row["ciphertext"]))


async def rekey(db: Executor, cipher: ContactCipher) -> int:
    """Re-encrypt every contact not under ``cipher.current`` with it; how many rows changed."""
    rows = await db.fetch(
        "SELECT project_id, key_id, nonce, ciphertext FROM enterprise_contacts WHERE key_id <> $1", cipher.current
    )
    for row in rows:
        contact = cipher.open(row["project_id"], row["key_id"], bytes(row["nonce"]), bytes(row["ciphertext"]))
        key_id, nonce, ciphertext = cipher.seal(row["project_id"], contact)
        await db.execute(
            "UPDATE enterprise_contacts SET key_id = $2, nonce = $3, ciphertext = $4"
            " WHERE project_id = $1 AND key_id = $5",
            row["project_id"],
            key_id,
            nonce,
            ciphertext,
            row["key_id"],
        )
    return len(rows)
