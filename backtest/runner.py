"""A whole backtest: warm-up once, then every (replication, policy) branch, in parallel.

Branches share nothing after the warm-up, so they run in worker processes, each on its
own database, one branch per process, the most expensive (predictive: features and
scoring every week) first. Workers come from a fork server, not a fork of this
process: a process that has trained or scored a model has started OpenMP threads, and
a child forked from it hangs in its first OpenMP region (GNU libgomp). Each worker
unpickles the warm-up state once.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import time
from collections.abc import Callable
from typing import Any

from backtest import stats
from backtest.accounting import peak_share_by_week
from backtest.config import BacktestConfig, ablation_of
from backtest.databases import Databases, run_databases
from backtest.loop import BranchResult, BranchSpec, StartState, run_branch
from backtest.warmup import WARM, run_warmup
from scheduler.policy import PlanningPolicy, load_policy

log = logging.getLogger("fleetcare.backtest.runner")

# Branch cost order for scheduling (most expensive first).
_COST = {"predictive": 0, "oracle": 1, "hours": 2, "calendar": 3, "reactive": 4}
_READS_DB = {"reactive": False}

Progress = Callable[[str], None]

# Modules a worker needs, imported once in the fork server.
_PRELOAD = ["backtest.loop", "backtest.policies", "backtest.oracle", "features.build",
            "models.scoring", "scheduler.visits", "scheduler.parts"]
# The warm-up state of a worker process (set by _init_worker).
_WORKER: tuple[StartState, BacktestConfig, PlanningPolicy] | None = None


def _init_worker(payload: bytes, level: int) -> None:
    global _WORKER
    _WORKER = pickle.loads(payload)  # our own pickle, made a moment ago by the parent
    # A fork-server child starts with no logging: the branch's weekly progress at the
    # parent's level, the stages' own per-run lines (26 weeks x branches) only if wrong.
    from fleetcare.logs import configure_logging

    configure_logging(level)
    for stage in ("gateways", "ingest", "features", "models", "scheduler"):
        logging.getLogger(stage).setLevel(max(level, logging.WARNING))


def _worker(spec: BranchSpec) -> BranchResult:
    assert _WORKER is not None
    state, config, planning = _WORKER
    # The process runs this one branch (maxtasksperchild=1): its state copy is its own.
    return run_branch(spec, state, config, planning, fresh_copy=False)


def run_backtest(config: BacktestConfig, base_url: str, *, timescaledb: str = "auto",
                 planning: PlanningPolicy | None = None,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Run the backtest against the server of `base_url`; the summary as a dict."""
    say = progress or (lambda text: log.info("%s", text))
    planning = planning or load_policy()
    t0 = time.perf_counter()
    with run_databases(base_url, keep=config.keep_databases) as dbs:
        needs_model = any(p == "predictive" or ablation_of(p) for p in config.policies)
        state = run_warmup(config, dbs, timescaledb=timescaledb, train=needs_model,
                           progress=say)
        t = time.perf_counter()
        specs = branch_specs(config, dbs)
        clone_s = time.perf_counter() - t
        say(f"running {len(specs)} branches ({len(config.policies)} policies x "
            f"{config.seeds} seed(s)) in {max(1, config.workers)} process(es)")
        t = time.perf_counter()
        results = run_branches(specs, state, config, planning, progress=say)
        branches_s = time.perf_counter() - t
    summary = summarize(config, state, results)
    summary["seconds"] = {"total": round(time.perf_counter() - t0, 1),
                          "warmup": state.info["seconds"].get("warmup_s"),
                          "clone_databases": round(clone_s, 1),
                          "branches": round(branches_s, 1)}
    return summary


def branch_specs(config: BacktestConfig, dbs: Databases, tag: str = "") -> list[BranchSpec]:
    """One branch per replication and policy, each with its clone of the warm-up database
    (policies that read no database get none)."""
    specs = []
    for r, seed in enumerate(config.replication_seeds()):
        for policy in config.policies:
            url = (dbs.create(f"{tag}r{r}_{policy}", template=WARM)
                   if _READS_DB.get(policy, True) else None)
            specs.append(BranchSpec(policy, r, seed, url))
    return sorted(specs, key=lambda s: (_COST.get(s.policy, 0 if ablation_of(s.policy) else 9),
                                        s.replication))


def run_branches(specs: list[BranchSpec], state: StartState, config: BacktestConfig,
                 planning: PlanningPolicy, *, progress: Progress | None = None
                 ) -> list[BranchResult]:
    """Run branches in `config.workers` forked processes (in this process if 1)."""
    say = progress or (lambda text: log.info("%s", text))
    out: list[BranchResult] = []
    if config.workers <= 1 or len(specs) == 1:
        for spec in specs:
            out.append(run_branch(spec, state, config, planning))
            say(_done(out[-1], len(out), len(specs)))
        return out
    payload = pickle.dumps((state, config, planning), protocol=pickle.HIGHEST_PROTOCOL)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    # One branch per child: each starts from the untouched warm-up state.
    with ctx.Pool(processes=min(config.workers, len(specs)), initializer=_init_worker,
                  initargs=(payload, logging.getLogger("fleetcare").getEffectiveLevel()),
                 maxtasksperchild=1) as pool:
        for result in pool.imap_unordered(_worker, specs):
            out.append(result)
            say(_done(result, len(out), len(specs)))
    return out


def _done(r: BranchResult, k: int, n: int) -> str:
    res = r.results
    return (f"[{k}/{n}] {r.policy:<10} seed {r.seed}: {res['breakdowns']} breakdowns "
            f"({res['peak_breakdowns']} in peak), {res['visits']} visits, total cost "
            f"{res['total_cost'] / 1e6:.2f} M CNY ({r.seconds.get('branch_s', 0):.0f} s)")


def summarize(config: BacktestConfig, state: StartState, results: list[BranchResult]
              ) -> dict[str, Any]:
    """The JSON summary: per-policy means, differences with CIs, bars, replications."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for policy in config.policies:
        mine = sorted((r for r in results if r.policy == policy), key=lambda r: r.replication)
        runs[policy] = [r.results for r in mine]
    means = stats.policy_means(runs)
    diffs = stats.differences(runs)
    out: dict[str, Any] = {
        "config": {"machines": config.machines, "weeks": config.weeks, "seeds": config.seeds,
                   "replication_seeds": config.replication_seeds(),
                   "start": config.start.isoformat(), "end": config.end.isoformat(),
                   "fleet_seed": config.seed, "warmup_days": config.warmup_days,
                   "capacity": config.capacity_text(),
                   "tech_days_per_week": sum(config.capacity(s.technicians)
                                             for s in state.sim.fleet.stations),
                   "stations": len(state.sim.fleet.stations), "method": config.method,
                   "policies": list(config.policies)},
        "warmup": state.info,
        "notes": [
            "The predictive policy's models are trained inside the backtest on a warm-up "
            f"history of {config.warmup_days} days simulated before {config.start} "
            "(policy-independent; the same for every policy), and stored in the run's "
            "model registry.",
            "Seeds: each replication re-draws the season's randomness for the same fleet "
            "and warm-up; policies within a replication share every draw. CIs are 95 % "
            "Student-t over replications of the paired differences.",
            "Every policy gets the same technician-days per station and week and the same "
            "planner (routing, travel with multi-day trips to remote sites, capacity); a "
            "rule's visit inspects, replaces worn wear parts and does the hour-interval "
            "service if due, a predictive visit does the work the planner chose for it. "
            "The predictive policy keeps a share of its technician-days for alerts "
            "dispatched between weekly plans.",
        ],
    }
    out.update(means)
    out["differences"] = diffs
    ablated = [p for p in config.policies if ablation_of(p)]
    if ablated and "predictive" in runs:
        out["ablation"] = stats.ablation(runs, ablated)
    out["bars"] = stats.bars(means, diffs, runs)
    out["replications"] = [
        {"policy": r.policy, "seed": r.seed, "seconds": r.seconds,
         **{k: v for k, v in r.results.items() if k != "weekly"}}
        for r in sorted(results, key=lambda r: (r.replication, r.policy))]
    out["weekly"] = {p: _weekly_mean([r["weekly"] for r in runs[p]]) for p in runs}
    out["peak_share_by_week"] = [round(x, 3) for x in peak_share_by_week(
        state.sim.fleet, config.start, config.weeks)]
    return out


def _weekly_mean(series: list[list[dict[str, Any]]]) -> dict[str, list[float]]:
    keys = ("breakdowns", "peak_breakdowns", "visits", "downtime_h")
    n = max(len(series), 1)
    weeks = len(series[0]) if series else 0
    return {k: [round(sum(s[w][k] for s in series) / n, 2) for w in range(weeks)] for k in keys}
