-- Decision ids are each department's own (issue 14): one department's decision id never refuses
-- another department's on the same project. The claim of a decision id is per department.
ALTER TABLE gateway_envelopes DROP CONSTRAINT gateway_envelopes_pkey;
ALTER TABLE gateway_envelopes ADD PRIMARY KEY (project_id, department, decision_id);
