"""Closed-loop backtest: what predictive 保健 is worth against today's practice.

Module map:
- config.py     BacktestConfig: fleet, season, replications, capacity, policies
- warmup.py     the policy-independent history before the season: simulate, ingest,
                features, train the models (the run's own registry)
- databases.py  one database per branch, cloned from the warm-up database
- publish.py    simulated days → gateways' uplink → ingest's direct path
- policies.py   reactive, calendar, hours, predictive: decide visits from the database
- queries.py    the rule policies' reads (hour meters, last services), cut at the night before
- oracle.py     perfect information (the simulator's own risk): a ceiling, reads truth
- stock.py      the stations' shelves: orders, lead times, fill rate
- accounting.py the ledger of a branch from the simulator's records (reads truth)
- loop.py       the weekly loop of one branch
- runner.py     warm-up, branches in forked processes, summary
- stats.py      means, paired differences, Student-t intervals, the issue's bar
- report.py     one-page PNG/HTML report; cli.py `fleetcare backtest`
"""
