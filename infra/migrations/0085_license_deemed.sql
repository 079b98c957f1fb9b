-- An e-licence minted on deemed approval (超时默认): nobody signed it, and the record says so.
ALTER TABLE e_licenses ADD COLUMN deemed boolean NOT NULL DEFAULT false;
