-- Why an e-license was revoked (a failed commitment verification).
ALTER TABLE e_licenses ADD COLUMN revoked_reason text;
