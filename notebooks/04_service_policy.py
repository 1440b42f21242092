# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 Service policy what-if
#
# What a different service interval or visit budget would have done, measured with the
# closed-loop backtest (`fleetcare backtest`): each policy decides its visits week by
# week from its own copy of the data, a simulated fleet lives through those weeks, and
# breakdowns, downtime and cost are counted from the simulator's records.
#
# The backtest simulates its own fleet (a warm-up history, then the season), on the
# server of the settings' database, in databases it drops at the end (so it needs a role
# that may create databases; notebooks 01-03 only read). The defaults below
# are tiny so the notebook runs in a few minutes; change the knobs and rerun the cells
# below them. `fleetcare backtest --help` explains each; the full comparison is
# `fleetcare backtest` (1,000 machines x 26 weeks x 3 seeds).

# %%
import pandas as pd

from app.notebook import database_url
from backtest.config import BacktestConfig
from backtest.runner import run_backtest
from fleetcare.settings import load_settings
from scheduler.policy import load_policy

url = database_url()
timescaledb = load_settings().timescaledb

# %% [markdown]
# ## The knobs

# %%
MACHINES = 16             # simulated fleet
WEEKS = 3                 # season length, weeks from START
START = "2025-03-03"      # a Monday; March reaches the spring peak
WARMUP_DAYS = 91          # history before START (the predictive policy needs ~300 to train)
SEED = 7
POLICIES = ("reactive", "calendar", "hours")   # add "predictive" with a longer warm-up
# Visit budgets: technician-days per station and week for 保健 visits, every policy alike.
BUDGETS = (1, 3)
# The maker's hour-interval service (h): the hours policy visits a machine when its meter
# reaches the next multiple of the interval above its last oil service. A machine with no
# oil service in the data counts as overdue under any interval, so on the tiny default
# fleet the interval barely moves the result: lengthen WARMUP_DAYS and grow MACHINES.
SERVICE_INTERVALS_H = (250, 500)

# %% [markdown]
# ## Run
#
# One backtest per (budget, interval); the policies of a run share its fleet and every
# random draw, so their differences are the policies' own.

# %%
def run(budget: int, interval_h: float) -> dict:
    config = BacktestConfig(machines=MACHINES, weeks=WEEKS, seeds=1, seed=SEED,
                            start=pd.Timestamp(START).date(), warmup_days=WARMUP_DAYS,
                            tech_days=budget, policies=POLICIES, method="greedy", workers=1)
    planning = load_policy().model_copy(update={
        "interval_step_h": float(interval_h),
        # the service is done on a visit once 80 % of the interval has run, as by default
        "interval_service_due_h": 0.8 * interval_h})
    return run_backtest(config, url, timescaledb=timescaledb, planning=planning,
                        progress=lambda text: None)


rows = []
for budget in BUDGETS:
    for interval_h in SERVICE_INTERVALS_H:
        summary = run(budget, interval_h)
        for policy in POLICIES:
            result = summary[policy]
            rows.append({"budget": budget, "interval_h": interval_h, "policy": policy,
                         **{k: result.get(k) for k in (
                             "breakdowns", "peak_breakdowns", "downtime_h", "visits",
                             "service_cost", "breakdown_cost", "total_cost", "fill_rate")}})
results = pd.DataFrame(rows)
results

# %% [markdown]
# ## Compare
#
# Total cost (service plus breakdowns, CNY) and breakdowns per policy, for each budget
# and interval.

# %%
results.pivot_table(index=["budget", "interval_h"], columns="policy",
                    values="total_cost").round(0)

# %%
results.pivot_table(index=["budget", "interval_h"], columns="policy",
                    values="breakdowns")

# %%
ax = results.pivot_table(index=["budget", "interval_h"], columns="policy",
                         values="total_cost").plot.bar(figsize=(8, 3.5), rot=0)
ax.set_ylabel("total cost, CNY")
ax.set_xlabel("(technician-days a week per station, service interval h)")
