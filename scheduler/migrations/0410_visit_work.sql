-- 0410 visit work: what each planned visit does on site, and its trip's length.
-- Why: a 保健 visit now chooses its work (inspection, the due interval service, due wear
-- parts) and remote machines get multi-day trips; the technician needs both on the plan
-- and the dispatcher needs the technician-days a trip holds.
ALTER TABLE plan_visits
    ADD COLUMN work text[] NOT NULL DEFAULT '{inspect}'
        CHECK (work <@ ARRAY['inspect', 'service', 'replace_wear']::text[]),
    ADD COLUMN trip_days integer NOT NULL DEFAULT 1 CHECK (trip_days >= 1);
