-- 0003 catalogue: a maker's own components and fault codes, imported from files.
-- Why: a fleet that is not ours names its components and J1939 codes its own way. The
-- built-in catalogue (fleetcare/catalogue.py) stays the default; rows here extend it
-- (`fleetcare catalogue import`). Each maker component belongs to one of the built-in
-- component families, which the features, labels and models work on; a maker code
-- points at a component (its own or a built-in one) and so at a family.

CREATE TABLE catalogue_components (
    component_id text PRIMARY KEY,          -- the maker's name, as written in work orders
    name         text NOT NULL,
    family       text NOT NULL,             -- a built-in component family
    interval_h   integer CHECK (interval_h > 0),
    imported_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalogue_fault_codes (
    spn          integer PRIMARY KEY CHECK (spn BETWEEN 0 AND 524287),
    name         text NOT NULL,
    component    text NOT NULL,             -- a maker component or a built-in family
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- The family a component name in a work order belongs to: a maker component's family,
-- else the name itself (the built-in names are their own families).
CREATE FUNCTION fleetcare_component_family(component text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT c.family FROM catalogue_components c WHERE c.component_id = $1), $1)
$$;
