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
# # 03 Model review
#
# The active component-risk model from the registry, judged on its held-out period the
# way `fleetcare evaluate` does: against today's calendar, hour-interval and fault-code
# rules and the simulator's oracle (when the database has the simulator's truth). Then
# its calibration, recall at each visit budget, the reasons it gives for a few machines,
# and where it is weakest.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from app.notebook import database_url
from models import jobs, metrics, registry, risk
from models.evaluate import PLOT_BUDGETS
from models.inputs import load_features
from models.plot import recall_curves
from models.scoring import score_frame

url = database_url()
version = registry.active_version(url, risk.KIND)
model_id, model = registry.load_active(url, risk.KIND)
split = model.split
pd.Series({"model_id": version.model_id, "created": f"{version.created_at:%Y-%m-%d %H:%M}",
           "variant": model.variant, "horizon_d": model.horizon_d,
           "features": len(version.features),
           "train": f"{split.train_start} .. {split.train_end}",
           "calibrate": f"{split.calib_start} .. {split.calib_end}",
           "held out": f"{split.eval_start} .. {split.eval_end}"}).to_frame("active model")

# %% [markdown]
# ## Against the rules and the oracle
#
# Every method is scored on the same held-out rows (machine, component, day with a known
# label). Recall at budget b: the share of the next 30 days' failures found by visiting
# the top b share of the fleet each week.

# %%
evaluation = jobs.evaluate(url, model_id=model_id)
rows = {}
for method, result in evaluation.results.items():
    if result.get("applicable") is False:
        rows[method] = {"note": result.get("not_applicable")}
        continue
    rows[method] = {"PR-AUC": result["pr_auc"], "Brier": result["brier"],
                    **{f"recall@{k}": v for k, v in result["recall_at_budget"].items()}}
pd.DataFrame(rows).T

# %%
pd.Series({k: v for k, v in evaluation.meta["bars"].items()}).to_frame("headline")

# %% [markdown]
# ## Calibration
#
# Predicted risk against the observed failure rate per risk band: on the diagonal, a
# 10 % risk fails one time in ten.

# %%
pred = evaluation.predictions
table = pd.DataFrame(metrics.calibration_table(pred["y"].to_numpy(float),
                                               pred["model"].to_numpy(float)))
fig, ax = plt.subplots(figsize=(4.5, 4.5))
top = max(table["predicted"].max(), table["observed"].max()) * 1.1
ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
ax.scatter(table["predicted"], table["observed"], s=20 + table["n"] / table["n"].max() * 200)
ax.set_xlabel("mean predicted risk")
ax.set_ylabel("observed failure rate")
ax.set_xlim(0, top)
ax.set_ylim(0, top)
table

# %% [markdown]
# ## Recall at visit budget

# %%
methods = [m for m in ("model", "oracle", "fault_rule", "hours_rule", "calendar_rule")
           if m in pred and evaluation.results.get(m, {}).get("applicable", True)]
curves = pd.DataFrame(recall_curves(pred, methods, PLOT_BUDGETS))
ax = curves.plot(marker="o", figsize=(7, 4))
ax.set_xlabel("visit budget (share of the fleet each week)")
ax.set_ylabel("recall of the next 30 days' failures")

# %% [markdown]
# ## Reasons for a few machines
#
# The model's risk and its top reasons for the riskiest machines on the last held-out
# day, as `fleetcare score` writes them to `risk_scores`.

# %%
MACHINES = 5
last_day = pd.Timestamp(pred["day"].max()).date()
scored = score_frame(model, load_features(url, days=(last_day, last_day)))
riskiest = scored.sort_values("risk", ascending=False).head(MACHINES)
pd.set_option("display.max_colwidth", 200)
pd.DataFrame({"machine": riskiest["machine_id"], "component": riskiest["component"],
              "risk": riskiest["risk"].round(3),
              "reasons": ["; ".join(r["text"] for r in why) for why in riskiest["reasons"]]})

# %% [markdown]
# ## Where the model is weakest
#
# Per component, the model's PR-AUC and recall at 2 % beside the best rule's: the
# components with the smallest lead (or a deficit) are where a better signal is needed.

# %%
def per_component(method: str) -> pd.DataFrame:
    comps = evaluation.results.get(method, {}).get("per_component", {})
    return pd.DataFrame({c: {"PR-AUC": r["pr_auc"], "recall@0.02": r["recall_at_budget"]
                             .get("0.02"), "positives": r["positives"]}
                         for c, r in comps.items()}).T


model_c = per_component("model")
rules = [m for m in ("fault_rule", "hours_rule", "calendar_rule") if m in methods]
best_rule = pd.concat([per_component(r)["PR-AUC"].rename(r) for r in rules], axis=1)
weak = model_c.assign(best_rule=best_rule.idxmax(axis=1),
                      best_rule_pr_auc=best_rule.max(axis=1))
weak["lead"] = weak["PR-AUC"].astype(float) - weak["best_rule_pr_auc"].astype(float)
weak.sort_values("lead")
