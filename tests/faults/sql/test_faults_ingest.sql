-- Statements of tests/faults/test_faults_ingest.py.

-- name: count_telemetry
-- Rows in telemetry.
SELECT count(*) FROM telemetry;

-- name: install_fault_switch
-- A switch table and a trigger that fail raw writes while the switch says disk_full.
CREATE TABLE fault_switch (mode text);
INSERT INTO fault_switch VALUES ('off');
CREATE FUNCTION fault_on_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT mode FROM fault_switch) = 'disk_full' THEN
    RAISE EXCEPTION 'could not extend file: No space left on device'
      USING ERRCODE = 'disk_full';
  END IF;
  IF NEW.machine_id = 'POISON' THEN
    RAISE EXCEPTION 'row refused by a check' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_on_write BEFORE INSERT ON telemetry
  FOR EACH ROW EXECUTE FUNCTION fault_on_write();

-- name: disk_full
-- Every raw write fails as on a full disk.
UPDATE fault_switch SET mode = 'disk_full';

-- name: count_dead_letters
-- Rows in dead_letters.
SELECT count(*) FROM dead_letters;

-- name: disk_ok
-- Writes work again.
UPDATE fault_switch SET mode = 'off';

-- name: dead_letters_topic
-- topic, reason, payload of dead_letters.
SELECT topic, reason, payload FROM dead_letters ORDER BY payload;

-- name: telemetry_count_distinct_machine_id
-- count(DISTINCT (machine_id, seq)) of telemetry.
SELECT count(DISTINCT (machine_id, seq)) FROM telemetry;

-- name: telemetry_min_ts
-- min(ts), max(ts), count(DISTINCT arrived_at) of telemetry where machine_id LIKE 'W%'.
SELECT min(ts), max(ts), count(DISTINCT arrived_at) FROM telemetry WHERE machine_id LIKE
    'W%';

-- name: count_meter_resets
-- Rows in meter_resets.
SELECT count(*) FROM meter_resets;
