-- Catalogue reads of fleetcare/schema.py: the schema a database holds, as stable text.
-- Objects that belong to an extension (TimescaleDB puts its functions in public) are left
-- out, and so are the owner's own privileges, which depend on who ran the migrations.

-- name: extensions
-- Installed extensions by name (versions differ between installations).
SELECT extname FROM pg_extension ORDER BY 1;

-- name: tables
-- Ordinary and partitioned tables of the given schemas.
SELECT c.oid, n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%(schemas)s)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY n.nspname <> 'public', n.nspname, c.relname;

-- name: columns
-- A table's columns in order: type, NOT NULL, default, identity or generated.
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;

-- name: constraints
-- A table's constraints (keys, checks, foreign keys) by name; NOT NULL is on the columns.
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = %s AND contype <> 'n'
 ORDER BY conname;

-- name: indexes
-- A table's indexes that no constraint owns, by name.
SELECT pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = %s
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
 ORDER BY c.relname;

-- name: grants
-- Privileges on a table given to roles other than its owner, by role.
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS role,
       string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.oid = %s AND a.grantee <> c.relowner
 GROUP BY 1 ORDER BY 1;

-- name: hypertables
-- TimescaleDB's time dimension of each hypertable (only asked when the extension is there).
SELECT hypertable_schema, hypertable_name, column_name, time_interval::text
  FROM timescaledb_information.dimensions
 WHERE hypertable_schema = ANY(%(schemas)s)
 ORDER BY 1, 2, dimension_number;

-- name: views
-- Views of the given schemas with their definitions as PostgreSQL prints them.
SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%(schemas)s)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY n.nspname <> 'public', n.nspname, c.relname;

-- name: functions
-- Functions of the given schemas: signature, result and language (bodies are in the
-- migrations).
SELECT n.nspname, p.proname, pg_get_function_arguments(p.oid),
       pg_get_function_result(p.oid), l.lanname
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
 WHERE n.nspname = ANY(%(schemas)s)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 ORDER BY n.nspname <> 'public', n.nspname, p.proname, 3;
