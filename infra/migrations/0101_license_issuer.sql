-- Who issued an e-licence and under which seal (issue 13: 一枚印章管审批). ``issuing_body``: the zone's
-- administrative-approval body where its policy names one seal for its approvals (``approval_body``,
-- ``approval_seal``), else the department (its Chinese name); ``seal``: that single seal, NULL for
-- the department's own. NULL both for licences issued before, or for a project registered before
-- its content versions were recorded (migration 0100).
ALTER TABLE e_licenses ADD COLUMN issuing_body text, ADD COLUMN seal text;
