-- The enterprise's contact of a project (personal data: person, phone, the legal representative's
-- identity number), kept out of Temporal and encrypted here: AES-256-GCM under the key `key_id`
-- (DAIBAN_CONTACT_KEYS), the project id as associated data. eventstore/contacts.py.
CREATE TABLE enterprise_contacts (
    project_id text PRIMARY KEY,
    key_id text NOT NULL,
    nonce bytea NOT NULL,
    ciphertext bytea NOT NULL,
    stored_by text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
