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
# # 02 Failure analysis
#
# Breakdowns (急救 work orders) per 1,000 operating hours by component and product line;
# how long machines run before their first breakdown, after delivery and after a 保健
# visit (Kaplan-Meier curves, censored where the history ends); and which J1939 fault
# codes come before which breakdowns, and how early.

# %%
import matplotlib.pyplot as plt
from lifelines import KaplanMeierFitter
from lifelines.exceptions import StatError

from app.notebook import database_url
from features import analysis
from fleetcare import catalogue

url = database_url()
fleet = analysis.fleet(url)
gateways = analysis.gateways(url)
events = analysis.service_events(url)
breakdowns = events[events["kind"] == "breakdown"]
print(f"{breakdowns[['machine_id', 'day']].drop_duplicates().shape[0]} breakdowns, "
      f"{events[events['kind'] != 'breakdown'][['machine_id', 'day']].drop_duplicates().shape[0]}"
      f" service visits, {gateways['hours_logged'].sum():,.0f} operating hours logged")

# %% [markdown]
# ## Breakdowns per 1,000 hours
#
# A work order naming two components counts once for each. Hours are those the
# machines' gateways logged (hour meter, resets removed).

# %%
rates = analysis.failures_per_1000h(events, gateways, fleet, by="product_line")
rates

# %%
ax = rates.T.plot.bar(stacked=True, figsize=(9, 3.5))
ax.set_ylabel("breakdowns per 1,000 h")
ax.legend(fontsize=8, ncols=2)

# %% [markdown]
# ## Time to failure after delivery
#
# Days from delivery to the first breakdown. Machines delivered before the data starts
# enter the risk set at their age on the first reported day (left truncation), so a
# breakdown nobody saw does not bias the curve.

# %%
COMPONENT = None  # a component family (e.g. "hydraulic_pump") or None for any breakdown
after_delivery = analysis.time_to_failure(events, fleet, gateways, since="delivery",
                                          component=COMPONENT)
fig, ax = plt.subplots(figsize=(8, 4))
groups = [("all product lines", after_delivery),
          *after_delivery.groupby("product_line")]
for name, group in groups:
    if group["observed"].sum() == 0:
        print(f"{name}: no breakdown observed, no curve")
        continue
    km = KaplanMeierFitter(label=f"{name} ({len(group)})")
    try:
        km.fit(group["duration"], group["observed"], entry=group["entry"])
    except StatError:  # nobody of that age under observation at some point: say so
        print(f"{name}: too few machines observed young for a curve ({len(group)} machines)")
        continue
    km.plot_survival_function(ax=ax, ci_show=name == "all product lines")
ax.set_xlabel("days since delivery")
ax.set_ylabel("share without a breakdown")
ax.set_title(f"first breakdown ({COMPONENT or 'any component'}) after delivery", loc="left")

# %% [markdown]
# ## Time to failure after a 保健 visit
#
# Days from a preventive service or inspection to the next breakdown, cut (censored) at
# the next visit or the end of the history; product lines with at least 20 visits get
# their own curve.

# %%
after_service = analysis.time_to_failure(events, fleet, gateways, since="service",
                                         component=COMPONENT)
km = KaplanMeierFitter(label="all product lines")
km.fit(after_service["duration"], after_service["observed"])
ax = km.plot_survival_function(figsize=(8, 4))
ax.set_xlabel("days since the visit")
ax.set_ylabel("share without a breakdown")
for line, group in after_service.groupby("product_line"):
    if len(group) >= 20 and group["observed"].any():   # enough visits for a curve
        KaplanMeierFitter(label=f"{line} ({len(group)})").fit(
            group["duration"], group["observed"]).plot_survival_function(ax=ax, ci_show=False)
print(f"{len(after_service)} visits, {int(after_service['observed'].sum())} followed by a "
      f"breakdown before the next visit; median days to breakdown: {km.median_survival_time_}")

# %% [markdown]
# ## Fault codes before breakdowns
#
# For every breakdown, the fault codes active on the same machine in the 60 days before
# it, with how many days before the breakdown each first showed. `matches` says whether
# the catalogue ties the code to the component that broke.

# %%
codes = analysis.codes_before_breakdowns(url, window_d=60)
codes["code"] = [f"SPN {s} FMI {f}" for s, f in zip(codes["spn"], codes["fmi"], strict=True)]
codes["code_name"] = [catalogue.SPNS[s].name if s in catalogue.SPNS else ""
                      for s in codes["spn"]]
codes["matches"] = codes["code_component"] == codes["component"]
summary = (codes.groupby(["component", "code", "code_name"])
           .agg(breakdowns=("breakdown_day", "size"), matches=("matches", "first"),
                median_lead_days=("lead_days", "median"), max_lead_days=("lead_days", "max"))
           .sort_values(["component", "matches", "breakdowns"], ascending=[True, False, False]))
summary

# %%
all_breakdowns = breakdowns.dropna(subset=["component"])[
    ["machine_id", "day", "component"]].drop_duplicates()
warned = codes[codes["matches"]][["machine_id", "breakdown_day", "component"]]
warned = warned.drop_duplicates().rename(columns={"breakdown_day": "day"})
share = (all_breakdowns.merge(warned.assign(warned=True), how="left")
         .fillna({"warned": False}).groupby("component")["warned"].agg(["size", "mean"])
         .rename(columns={"size": "breakdowns", "mean": "share_warned_by_own_code"}))
share.round(2)

# %%
matched = codes[codes["matches"]]
ax = matched.boxplot(column="lead_days", by="component", figsize=(9, 3.5), rot=30)
ax.set_ylabel("days before the breakdown")
ax.set_title("first matching code, days ahead")
plt.suptitle("")
