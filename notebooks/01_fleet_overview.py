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
# # 01 Fleet overview
#
# What the fleet is (product lines, regions, ages), how hard it works across the year
# (hours per day by region, with each region's peak seasons shaded), and where the
# data is thin: gateways with gaps and gateways that have gone quiet.
#
# The database is the one the project's settings name (`FLEETCARE_DATABASE_URL`, else
# the embedded database where `fleetcare demo` left its results).

# %%
import matplotlib.pyplot as plt
import pandas as pd

from app.notebook import database_url
from features import analysis

url = database_url()
fleet = analysis.fleet(url)
hours = analysis.daily_hours(url)
gateways = analysis.gateways(url)
peaks = analysis.region_peaks(url)
print(f"{len(fleet)} machines, {len(hours):,} machine-days of use, "
      f"{hours['day'].min():%Y-%m-%d} to {hours['day'].max():%Y-%m-%d}")

# %% [markdown]
# ## The fleet by product line, region and age
#
# Age is counted at the newest day in the data.

# %%
as_of = hours["day"].max()
fleet["age_years"] = (as_of - fleet["delivery_date"]).dt.days / 365.25
fleet["age"] = pd.cut(fleet["age_years"], [-1, 1, 2, 3, 5, 100],
                      labels=["<1 y", "1-2 y", "2-3 y", "3-5 y", "5+ y"])
pd.crosstab(fleet["product_line"], fleet["region_name"], margins=True, margins_name="all")

# %%
pd.crosstab(fleet["product_line"], fleet["age"], margins=True, margins_name="all")

# %% [markdown]
# ## Hours per day by region across the year
#
# The mean over the machines of the region that reported that day and the day before
# (a weekly rolling mean smooths the weekend dip); shaded spans are the region's peak
# seasons as stored in `region_peaks`.

# %%
by_region = (hours.groupby(["region_id", "day"])["hours"].mean().unstack("region_id")
             .sort_index().rolling(7, min_periods=1).mean())
regions = list(by_region.columns)
fig, axes = plt.subplots(len(regions), 1, figsize=(10, 2.2 * len(regions)), sharex=True,
                         squeeze=False)
for ax, region in zip(axes[:, 0], regions, strict=True):
    ax.plot(by_region.index, by_region[region], lw=1.2)
    ax.set_ylabel("h/day")
    ax.set_title(region, loc="left", fontsize=10)
    for p in peaks[peaks["region_id"] == region].itertuples():
        for year in sorted({d.year for d in by_region.index}):
            start = pd.Timestamp(year, p.start_month, p.start_day)
            end = pd.Timestamp(year + (p.end_month < p.start_month), p.end_month, p.end_day)
            ax.axvspan(start, end, color="orange", alpha=0.15, lw=0)
    ax.set_xlim(by_region.index.min(), by_region.index.max())
fig.tight_layout()

# %%
monthly = hours.assign(month=hours["day"].dt.month).pivot_table(
    index="region_id", columns="month", values="hours", aggfunc="mean").round(1)
monthly

# %% [markdown]
# ## Data gaps and stale gateways
#
# `days_behind`: days between the machine's last report and the newest day any machine
# reported. A gateway more than `STALE_DAYS` behind is stale; `longest_gap_days` is the
# longest silence between two reports. A machine standing still (the northern winter
# stop, a site between jobs) sends nothing either: check `region_id` and the month before
# calling a gateway broken.

# %%
STALE_DAYS = 3
stale = gateways[gateways["days_behind"].isna() | (gateways["days_behind"] > STALE_DAYS)]
print(f"{len(stale)} of {len(gateways)} gateways stale (more than {STALE_DAYS} days behind "
      f"or never reported)")
stale.head(20)

# %%
gaps = gateways.sort_values("longest_gap_days", ascending=False)
gaps[["machine_id", "product_line", "region_id", "days_reported", "gaps",
      "longest_gap_days", "days_behind"]].head(15)

# %%
fig, ax = plt.subplots(figsize=(8, 3))
gateways["longest_gap_days"].dropna().astype(int).plot.hist(
    bins=range(0, int(gateways["longest_gap_days"].max() or 0) + 2), ax=ax)
ax.set_xlabel("longest silence between two reports (days)")
ax.set_ylabel("machines")
