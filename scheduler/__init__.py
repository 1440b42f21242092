"""Scheduler: the APScheduler runtime, the 保健 visit planner and the parts pre-stock planner.

Module map:

Runtime
- ``config``      ``SchedulerSettings`` (FLEETCARE_SCHEDULER_*): job schedules, stage targets
- ``jobstore``    ``PostgresJobStore``: APScheduler 3 job store on psycopg (table in 0400)
- ``leader``      ``LeaderLock`` (session advisory lock) and per-job locks
- ``jobs``        the jobs, ``run_job`` (recorded in job_runs), ``list_runs``, promotion rule
- ``runtime``     ``SchedulerRuntime``: paused until leader, schedules synced into the store

Planning (pure functions on in-memory inputs; no database)
- ``problem``     inputs ``Station``, ``Machine``, ``WearDue``; outputs ``VisitPlan``,
                  ``Visit``, ``Trip``, ``PartToBring``
- ``policy``      ``PlanningPolicy`` / ``load_policy``: 一品一案 classes, costs, capacity,
                  service levels (TOML via FLEETCARE_PLANNING_POLICY)
- ``value``       value of a visit per machine and day; reasons and parts to bring
- ``geo``         great-circle distances
- ``routes``      best stop order (exact), candidate technician-day trips
- ``station_problem``  ``StationProblem`` / ``build_problem``: one station's candidates,
                  values, distances and capacity
- ``greedy``      the dispatcher heuristic: baseline, fallback and the MIP's start
- ``mip``         ``solve_mip``: the period-level trip MIP (HiGHS), day assignment
- ``plan_rows``   a station's trips as ``Visit`` and ``Trip`` rows (work, reasons, parts)
- ``visits``      ``plan_visits(...)``: build, solve per station (in processes), check
- ``check``       ``check_plan``: the hard rules every returned plan is checked against
- ``baselines``   today's calendar and hour rules as planner candidates (backtest)
- ``parts``       ``plan_parts(...)``: demand to the end of the coming peak, stock targets,
                  orders and order-by dates
- ``synthetic``   a seeded fleet-scale instance for the bench and tests

Database and commands
- ``store``       SQL: inputs from master data, risk_scores, wear_forecasts, station_stock,
                  service_records; plans in plans / plan_visits / plan_parts; reviews
- ``service``     ``propose_visit_plan`` / ``propose_parts_plan``: load, plan, store
- ``export``      CSV and XLSX per station
- ``demo``        ``plan_for_demo`` / ``demo_lines``: the planning step of ``fleetcare demo``
- ``cli``         ``fleetcare scheduler``, ``fleetcare jobs``, ``fleetcare plan``
- ``migrations``  0400: scheduler_jobs, job_runs.trigger, plan_visits, plan_parts,
                  station_stock
"""
