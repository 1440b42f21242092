"""Gateways: turn a day's records into MQTT messages the way real gateways send them.

Per machine and stream a sequence number; live readings go up seconds after they are
taken; in a coverage gap readings are buffered and go up as one JSON array when the
machine is back in coverage (store-and-forward); now and then an exact resend, a late
(out-of-order) delivery, a skewed gateway clock, an hour meter replaced and reset, and
a malformed payload. Malformed payloads are extra copies of good messages with a
`defect` flag, so every good record still arrives exactly once (or more, as resends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import msgspec
import numpy as np

from fleetcare.contracts import topic
from gateways.fleet import Fleet
from gateways.rand import day_rng, hashed_uniform
from gateways.simulator import CN_TZ, DayRecords, day_epoch

STREAMS = ("telemetry", "faults", "service")
_REMOTE = frozenset({"xinjiang", "northwest", "northeast", "southwest"})
MAX_BATCH = 500            # records per store-and-forward message (contract allows 10,000)
DEFECTS = ("bad_json", "wrong_type", "id_mismatch")


@dataclass(frozen=True)
class Messiness:
    """Rates of real-world gateway behaviour (all configurable on the command line)."""

    gap_rate: float = 0.01          # chance per machine-day that a coverage gap starts
    gap_days: float = 2.0           # mean gap length in days (remote regions: twice as often)
    duplicate_rate: float = 0.005   # messages sent twice (lost PUBACK), byte-identical
    out_of_order_rate: float = 0.01  # messages delivered minutes to hours late
    skew_share: float = 0.05        # gateways whose clock is off (constant per gateway)
    meter_reset_rate: float = 0.02  # hour meters replaced per machine-year
    malformed_rate: float = 0.0005  # extra garbage copies per message

    @classmethod
    def clean(cls) -> Messiness:
        return cls(0, 0, 0, 0, 0, 0, 0)


class Message(NamedTuple):
    """One MQTT publish. Sorting Messages gives upload order (then a stable tie-break)."""

    publish_at: float          # when it leaves the gateway (true time, epoch s)
    machine: int
    stream: int                # index in STREAMS
    seq: int                   # first seq in the payload
    variant: int               # 0 original, 1 resend, 2 malformed copy
    topic: str
    payload: bytes
    records: int               # records in the payload
    defect: str | None         # why the payload is deliberately bad, else None


class _Clock:
    """RFC 3339 with +08:00, fast: the date part is cached per local day."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def __call__(self, t: float) -> str:
        s = int(t) + 8 * 3600
        d, sec = divmod(s, 86400)
        day = self._days.get(d)
        if day is None:
            day = (date(1970, 1, 1) + timedelta(days=d)).isoformat()
            self._days[d] = day
        h, rem = divmod(sec, 3600)
        return f"{day}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}+08:00"


def rfc3339(t: np.ndarray) -> list[str]:
    """Vectorised _Clock for arrays of whole Unix seconds (the hot path)."""
    local = (np.asarray(t, dtype=np.int64) + 8 * 3600).astype("datetime64[s]")
    return [x + "+08:00" for x in np.datetime_as_string(local, unit="s").tolist()]


class Uplink:
    """Per-gateway sequence numbers, buffers and clocks for a whole fleet."""

    def __init__(self, fleet: Fleet, seed: int, messiness: Messiness | None = None,
                 days: int = 365) -> None:
        self.fleet = fleet
        self.seed = seed
        self.mess = messiness or Messiness()
        M = fleet.size_n
        idx = np.arange(M)
        self.ids = [m.machine_id for m in fleet.machines]
        self.topics = [[topic(mid, s) for s in STREAMS] for mid in self.ids]
        self.seq = np.zeros((M, 3), np.int64)
        self.gap_until = np.full(M, -1, np.int64)
        self.gap_mult = np.array([2.0 if m.region_id in _REMOTE else 1.0 for m in fleet.machines])
        skewed = hashed_uniform(seed, "skew?", idx) < self.mess.skew_share
        size = hashed_uniform(seed, "skew", idx)
        # Off by 30 s to 2 h, either way; constant per gateway so resends stay identical.
        self.skew = np.where(skewed, np.sign(size - 0.5) * (30 + 7170 * np.abs(size - 0.5) * 2), 0)
        self.skew = np.round(self.skew).astype(np.int64)
        p_reset = self.mess.meter_reset_rate * days / 365
        self.reset_day = np.where(hashed_uniform(seed, "reset?", idx) < p_reset,
                                  (hashed_uniform(seed, "reset", idx) * days).astype(np.int64), -1)
        self.offset = np.zeros((M, 3))        # engine, idle, fuel counters subtracted
        self.resets: list[dict] = []           # truth: meter replacements
        self._buf: dict[tuple[int, int], list[str]] = {}
        self._gap_upload: dict[int, float] = {}
        self._pending: list[Message] = []
        self.clock = _Clock()
        self._enc = msgspec.json.Encoder()

    # --- the day ---------------------------------------------------------------------

    def feed(self, rec: DayRecords) -> list[Message]:
        """Messages produced by one simulated day that leave the gateways before midnight."""
        d = rec.day_index
        self._coverage(d, rec.day)
        self._meter_resets(d, rec)
        out: list[Message] = []
        self._telemetry(d, rec.telemetry, out)
        self._faults(d, rec.faults, out)
        self._service(d, rec.service, out)
        self._close_gaps(d, out)
        self._pending.extend(self._mess(out))
        horizon = day_epoch(rec.day + timedelta(days=1))
        self._pending.sort()
        cut = 0
        while cut < len(self._pending) and self._pending[cut].publish_at < horizon:
            cut += 1
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return ready

    def flush(self, end: date) -> list[Message]:
        """Everything still buffered: gateways in a gap come back at the end of the window."""
        last = day_epoch(end)
        out: list[Message] = []
        for m in sorted({m for m, _ in self._buf}):
            self._upload(m, min(self._gap_upload.get(m, last), last), out)
        self._pending.extend(self._mess(out))
        self._pending.sort()
        ready, self._pending = self._pending, []
        return ready

    # --- pieces ----------------------------------------------------------------------

    def _coverage(self, d: int, day: date) -> None:
        M = self.fleet.size_n
        rng = day_rng(self.seed, d, "coverage")
        u, u_len, u_at = rng.random(M), rng.random(M), rng.random(M)
        start = (self.gap_until <= d) & (u < self.mess.gap_rate * self.gap_mult)
        length = 1 + np.floor(-np.log(np.maximum(u_len, 1e-12)) * self.mess.gap_days)
        for m in np.flatnonzero(start):
            self.gap_until[m] = d + int(length[m])
            # Back in coverage the morning the gap ends, when the machine keys on.
            self._gap_upload[int(m)] = day_epoch(day + timedelta(days=int(length[m]))) + (
                5.5 + 2.5 * u_at[m]) * 3600

    def _in_gap(self, m: np.ndarray, d: int) -> np.ndarray:
        return self.gap_until[m] > d

    def _meter_resets(self, d: int, rec: DayRecords) -> None:
        tel = rec.telemetry
        due = np.flatnonzero((self.reset_day >= 0) & (self.reset_day <= d))
        if not len(due):
            return
        m = tel["machine"]
        for i in due:
            rows = np.flatnonzero(m == i)
            if not len(rows):
                continue     # not working today: the meter is swapped on a working day
            r0 = rows[0]
            # The new meter starts near zero at the first reading of the day.
            new = np.array([tel["engine_hours"][r0] - 1.0, tel["idle_hours"][r0],
                            tel["fuel_used_l"][r0] if not math.isnan(tel["fuel_used_l"][r0])
                            else 0.0])
            self.offset[i] = new
            self.reset_day[i] = -1
            self.resets.append({"machine": int(i), "day": rec.day,
                                "engine_hours_before": float(new[0])})

    def _telemetry(self, d: int, tel: dict[str, np.ndarray], out: list[Message]) -> None:
        m = tel["machine"]
        if not len(m):
            return
        n = len(m)
        seq = self._assign_seq(m, 0)
        lat_ = hashed_uniform(self.seed, "lat-t", d, np.arange(n))
        ts = tel["ts"].astype(np.int64)
        sent = ts + 1 + (lat_ * 29).astype(np.int64)
        off = self.offset[m]
        eh = tel["engine_hours"] - off[:, 0]
        idle = tel["idle_hours"] - off[:, 1]
        fuel = tel["fuel_used_l"] - off[:, 2]
        gap = self._in_gap(m, d)
        ids, skew = self.ids, self.skew
        cols = (tel["lat"], tel["lon"], tel["coolant_temp_c"], tel["hydraulic_oil_temp_c"],
                tel["engine_load_pct"], tel["hydraulic_pressure_bar"])
        lat, lon, cool, hyd, load, press = (c.tolist() for c in cols)
        eh_l, idle_l, fuel_l = eh.tolist(), idle.tolist(), fuel.tolist()
        m_l, sent_l, seq_l, gap_l = m.tolist(), sent.tolist(), seq.tolist(), gap.tolist()
        ts_s = rfc3339(ts + skew[m])
        sent_s = rfc3339(sent + skew[m])
        # Machines without an engine or hydraulics send null sensors and no fuel counter.
        partial = np.isnan(np.stack(cols[2:] + (fuel,))).any(axis=0).tolist()
        topics = self.topics
        for j in range(n):
            i = m_l[j]
            body = (f'"machine_id":"{ids[i]}","seq":{seq_l[j]},"ts":"{ts_s[j]}",'
                    f'"engine_hours":{eh_l[j]:.2f},"idle_hours":{idle_l[j]:.2f},'
                    f'"fuel_used_l":{fuel_l[j]:.1f},'
                    f'"lat":{lat[j]:.5f},"lon":{lon[j]:.5f},'
                    f'"coolant_temp_c":{cool[j]:.1f},'
                    f'"hydraulic_oil_temp_c":{hyd[j]:.1f},'
                    f'"engine_load_pct":{load[j]:.1f},'
                    f'"hydraulic_pressure_bar":{press[j]:.1f}')
            if partial[j]:
                body = body.replace(',"fuel_used_l":nan', "").replace("nan", "null")
            if gap_l[j]:
                self._buf.setdefault((i, 0), []).append(body)
            else:
                payload = f'{{{body},"sent_at":"{sent_s[j]}"}}'.encode()
                out.append(Message(float(sent_l[j]), i, 0, seq_l[j], 0, topics[i][0], payload,
                                   1, None))

    def _faults(self, d: int, fl: dict[str, np.ndarray], out: list[Message]) -> None:
        m = fl["machine"]
        if not len(m):
            return
        seq = self._assign_seq(m, 1)
        lat_ = hashed_uniform(self.seed, "lat-f", d, np.arange(len(m)))
        ts = fl["ts"].astype(np.int64)
        sent = ts + 1 + (lat_ * 9).astype(np.int64)
        gap = self._in_gap(m, d)
        for j, i in enumerate(m.tolist()):
            k = int(self.skew[i])
            body = (f'"machine_id":"{self.ids[i]}","seq":{int(seq[j])},'
                    f'"ts":"{self.clock(int(ts[j]) + k)}","spn":{int(fl["spn"][j])},'
                    f'"fmi":{int(fl["fmi"][j])},"oc":{int(fl["oc"][j])},'
                    f'"active":{"true" if fl["active"][j] else "false"}')
            if gap[j]:
                self._buf.setdefault((i, 1), []).append(body)
            else:
                payload = f'{{{body},"sent_at":"{self.clock(int(sent[j]) + k)}"}}'.encode()
                out.append(Message(float(sent[j]), i, 1, int(seq[j]), 0, self.topics[i][1],
                                   payload, 1, None))

    def _service(self, d: int, records: list[dict], out: list[Message]) -> None:
        # Work orders come from the technician's phone app: no gateway gap, no skew;
        # closed and uploaded half an hour to a few hours after the visit.
        for rec in sorted(records, key=lambda r: (r["machine"], r["ts"], r["work_order"])):
            i = rec["machine"]
            seq = int(self.seq[i, 2])
            self.seq[i, 2] += 1
            ts = int(round(rec["ts"]))
            sent = ts + int(1800 + 3 * 3600 * float(hashed_uniform(self.seed, "lat-s", i, seq)))
            doc = {"machine_id": self.ids[i], "seq": seq, "ts": self.clock(ts),
                   "sent_at": self.clock(sent), "work_order": rec["work_order"],
                   "kind": rec["kind"], "components": rec["components"], "parts": rec["parts"],
                   "downtime_h": float(rec["downtime_h"]), "cost_cny": float(rec["cost_cny"]),
                   "engine_hours": round(max(float(rec["engine_hours"] - self.offset[i, 0]), 0), 1),
                   "station_id": rec["station_id"], "technician": rec["technician"]}
            out.append(Message(float(sent), i, 2, seq, 0, self.topics[i][2],
                               self._enc.encode(doc), 1, None))

    def _assign_seq(self, m: np.ndarray, stream: int) -> np.ndarray:
        # Records arrive grouped by machine in time order; seq continues per machine.
        order = np.argsort(m, kind="stable")
        ms = m[order]
        first = np.r_[0, np.flatnonzero(np.diff(ms)) + 1]
        counts = np.diff(np.r_[first, len(ms)])
        within = np.arange(len(ms)) - np.repeat(first, counts)
        seq_sorted = self.seq[ms, stream] + within
        seq = np.empty_like(seq_sorted)
        seq[order] = seq_sorted
        np.add.at(self.seq[:, stream], ms[first], counts)
        return seq

    def _close_gaps(self, d: int, out: list[Message]) -> None:
        ending = {m for m, _ in self._buf if self.gap_until[m] == d + 1}
        for m in sorted(ending):
            self._upload(m, self._gap_upload[m], out)

    def _upload(self, m: int, at: float, out: list[Message]) -> None:
        k = int(self.skew[m])
        for stream in (0, 1):
            bodies = self._buf.pop((m, stream), None)
            if not bodies:
                continue
            for c, start in enumerate(range(0, len(bodies), MAX_BATCH)):
                chunk = bodies[start:start + MAX_BATCH]
                sent = int(at) + c
                stamp = f',"sent_at":"{self.clock(sent + k)}"}}'
                payload = ("[" + ",".join("{" + b + stamp for b in chunk) + "]").encode()
                first_seq = int(chunk[0].split('"seq":', 1)[1].split(",", 1)[0])
                out.append(Message(float(sent), m, stream, first_seq, 0, self.topics[m][stream],
                                   payload, len(chunk), None))
        self._gap_upload.pop(m, None)

    def _mess(self, msgs: list[Message]) -> list[Message]:
        """Resends, late deliveries and malformed copies, decided per message identity."""
        mess = self.mess
        if not msgs or (mess.duplicate_rate == 0 and mess.out_of_order_rate == 0
                        and mess.malformed_rate == 0):
            return msgs
        mach = np.array([x.machine for x in msgs])
        stream = np.array([x.stream for x in msgs])
        seq = np.array([x.seq for x in msgs])
        u_dup = hashed_uniform(self.seed, "dup", mach, stream, seq)
        u_ooo = hashed_uniform(self.seed, "ooo", mach, stream, seq)
        u_bad = hashed_uniform(self.seed, "bad", mach, stream, seq)
        u_x = hashed_uniform(self.seed, "mess-x", mach, stream, seq)
        out: list[Message] = []
        for j, msg in enumerate(msgs):
            if u_ooo[j] < mess.out_of_order_rate:
                msg = msg._replace(publish_at=msg.publish_at + 300 + 21_300 * float(u_x[j]))
            out.append(msg)
            if u_dup[j] < mess.duplicate_rate:
                out.append(msg._replace(publish_at=msg.publish_at + 5 + 600 * float(u_x[j]),
                                        variant=1))
            if u_bad[j] < mess.malformed_rate:
                defect = DEFECTS[int(u_x[j] * 3 * 1000) % 3]
                out.append(msg._replace(publish_at=msg.publish_at + 1, variant=2,
                                        payload=self._corrupt(msg, defect), defect=defect))
        return out

    def _corrupt(self, msg: Message, defect: str) -> bytes:
        text = msg.payload.decode()
        if defect == "bad_json":
            return text[: max(1, len(text) // 2)].encode()
        if defect == "wrong_type":
            # A number field sent as a string: valid JSON, invalid against the schema.
            return text.replace('"seq":', '"seq":"', 1).replace(',"ts"', '","ts"', 1).encode()
        other = self.ids[(msg.machine + 1) % len(self.ids)] if len(self.ids) > 1 else "X000000"
        return text.replace(self.ids[msg.machine], other).encode()


def local_date(t: float) -> date:
    """The local (UTC+8) calendar date of a Unix time."""
    from datetime import datetime
    return datetime.fromtimestamp(t, CN_TZ).date()
