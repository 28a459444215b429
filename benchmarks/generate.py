"""Generate a seeded, deterministic registry for the benchmarks.

    python benchmarks/generate.py --scale small --out /tmp/volreg-small.db
    python benchmarks/generate.py --scale city --out /tmp/volreg-city.db

Scales: ``small`` (1,000 volunteers, 20,000 records), ``city`` (100,000 volunteers, 2,000,000 records,
about 20,000 activities in about 300 organisations, 5 studios, about 5,000 nominations), ``province`` (ten
times ``city``).  ``--volunteers`` and ``--records`` override a scale's sizes (the smoke test uses them).

Like real volunteering, a few volunteers give most of the hours: each volunteer's share is lognormal
(sigma 1.6), so the top 1% give about a fifth of all records.  Service spreads over 2023-01 to 2025-10,
with a peak around 学雷锋纪念日 (5 March), and over every status: pending, verified, rejected, superseded
(through corrections) and void.

People, organisations, studios, activities, nominations and honours are written through volreg's public
API inside ``registry.transaction()``.  Service records take one of three paths:

- ``import``: a CSV through ``volreg.import_file(kind="service_records")``, only when asked for (its records
  are all pending: a CSV import does not reject, void or correct);
- ``api``: ``log_service`` / ``verify_service`` / ``reject_service`` / ``void_service`` /
  ``correct_service`` (every rule checked; about 2,000 records/s, so used up to 50,000 records);
- ``direct``: rows built by the registry's own row builder and inserted in one transaction through
  ``volreg.store.bulk.insert_records`` (one ``executemany`` and set-based summary updates per batch).

``--records-via`` forces one of them.  The path used is printed and stored in ``registry_meta``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

# The benchmarks measure the checkout they live in, not whatever volreg is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import volreg  # noqa: E402
from volreg.model import ServiceRecord  # noqa: E402
from volreg.store.bulk import insert_records  # noqa: E402
from volreg.timeutil import get_zone  # noqa: E402

SCALES = {
    "small": {"volunteers": 1_000, "records": 20_000, "activities": 400, "organisations": 40, "nominations": 100},
    "city": {"volunteers": 100_000, "records": 2_000_000, "activities": 20_000, "organisations": 300,
             "nominations": 5_000},
    "province": {"volunteers": 1_000_000, "records": 20_000_000, "activities": 200_000, "organisations": 3_000,
                 "nominations": 50_000},
}
STUDIOS = ("梅建国移风易俗工作室", "卢芳爱心公益工作室", "雄关志愿服务工作室", "嘉峪关健康义诊工作室", "应急救援工作室")
CATEGORIES = ("敬老助老", "环保公益", "文明出行", "关爱残疾人", "平安建设")
FIRST_DAY, LAST_DAY = date(2023, 1, 2), date(2025, 10, 31)
KEY = "volreg-benchmark-key"
WEIGHTS = (10, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(n: int, born: date) -> str:
    """A valid-format fictional resident ID number (GB 11643-1999), distinct for each ``n``."""
    body = f"62{n // 1000 % 10000:04d}{born:%Y%m%d}{n % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return body + "10X98765432"[total % 11]


def record_path(via: str | None, records: int) -> str:
    """The path service records take (see the module docstring)."""
    if via:
        return via
    # Not "import" by default: a CSV import makes records pending or verified only, while the benchmark
    # wants every status (rejected, void, corrected); run.py times import_file separately.
    return "api" if records <= 50_000 else "direct"


def generate(out: Path, *, scale: str = "small", seed: int = 7, volunteers: int | None = None,
             records: int | None = None, via: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Build the registry at ``out`` (replacing it); return what was made and how long it took."""
    sizes = dict(SCALES[scale])
    factor = 1.0
    if volunteers is not None:
        factor = volunteers / sizes["volunteers"]
        sizes["volunteers"] = volunteers
        for name in ("activities", "organisations", "nominations"):
            sizes[name] = max(10, round(sizes[name] * factor))
    if records is not None:
        sizes["records"] = records
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(str(out) + suffix).unlink(missing_ok=True)
    rng = random.Random(seed)
    timings: dict[str, float] = {}

    def say(text: str) -> None:
        if not quiet:
            print(text, file=sys.stderr, flush=True)

    clock = time.perf_counter()
    registry = volreg.open(out, key=KEY)
    with registry.transaction():
        city = registry.add_organisation("嘉峪关市文明办", kind="city_office", id="org-city")
        orgs = [city.id]
        districts = [registry.add_organisation(f"区{n}", kind="district", parent=city, id=f"org-d{n}").id
                     for n in range(max(2, sizes["organisations"] // 50))]
        orgs += districts
        streets = [registry.add_organisation(f"街道{n}", kind="street", parent=districts[n % len(districts)],
                                             id=f"org-s{n}").id for n in range(max(2, sizes["organisations"] // 8))]
        orgs += streets
        while len(orgs) < sizes["organisations"]:
            n = len(orgs)
            orgs.append(registry.add_organisation(f"社区{n}", kind="community", parent=streets[n % len(streets)],
                                                  id=f"org-c{n}").id)
        studios = [registry.add_studio(name, organisation=orgs[1 + n % (len(orgs) - 1)], id=f"stu-{n}").id
                   for n, name in enumerate(STUDIOS)]
    timings["organisations"] = time.perf_counter() - clock

    clock = time.perf_counter()
    vols: list[str] = []
    with registry.transaction():
        for n in range(sizes["volunteers"]):
            born = date(1955, 1, 1) + timedelta(days=rng.randrange(0, 48 * 365))
            vols.append(registry.register_volunteer(
                f"志愿者{n}", id_number=id_number(n, born), organisation=orgs[rng.randrange(len(orgs))],
                registered_on="2022-12-01", id=f"vol-{n:07d}",
                number=f"V{n:08d}", consent=n % 3 == 0,
            ).id)
    timings["volunteers"] = time.perf_counter() - clock
    say(f"volunteers: {len(vols)} in {timings['volunteers']:.1f} s")

    clock = time.perf_counter()
    days = (LAST_DAY - FIRST_DAY).days
    acts: list[tuple[str, date]] = []
    org_weights = [1 / (k + 1) ** 0.8 for k in range(len(orgs))]  # Zipf-like: a few organisers run most
    with registry.transaction():
        for n in range(sizes["activities"]):
            # A peak around 学雷锋纪念日 (5 March): one activity in eight is in the week around it.
            if n % 8 == 0:
                day = date(2023 + n % 3, 3, 1) + timedelta(days=rng.randrange(9))
                theme = "学雷锋纪念日"
            else:
                day = FIRST_DAY + timedelta(days=rng.randrange(days))
                theme = ""
            organiser = rng.choices(orgs, weights=org_weights)[0]
            studio = studios[n % len(studios)] if n % 40 == 0 else None
            act = registry.add_activity(
                f"志愿服务{n}", category=CATEGORIES[rng.randrange(len(CATEGORIES))], start=f"{day} 08:00",
                end=f"{day} 20:00", organiser=organiser, studio=studio, theme=theme, id=f"act-{n:07d}",
            )
            acts.append((act.id, day))
    timings["activities"] = time.perf_counter() - clock
    say(f"activities: {len(acts)} in {timings['activities']:.1f} s")

    clock = time.perf_counter()
    plan = _plan_records(rng, vols, acts, sizes["records"])
    path = record_path(via, sizes["records"])
    say(f"records: {len(plan)} planned, written via {path}")
    if path == "import":
        _records_by_import(registry, plan, out)
    elif path == "api":
        _records_by_api(registry, plan)
    else:
        _records_direct(registry, plan)
    timings["records"] = time.perf_counter() - clock
    say(f"records: written in {timings['records']:.1f} s")

    clock = time.perf_counter()
    _nominations(registry, rng, vols, orgs, sizes["nominations"])
    timings["nominations"] = time.perf_counter() - clock
    with registry.transaction():
        registry._store.set_meta("benchmark", f"scale={scale} seed={seed} records_via={path}")
    count = registry._store.scalar("SELECT count(*) FROM service_records")
    registry.db.execute("ANALYZE")
    registry.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    registry.close()
    return {"scale": scale, "sizes": sizes, "records_via": path, "record_versions": count, "timings": timings}


def _plan_records(rng: random.Random, vols: list[str], acts: list[tuple[str, date]], total: int) -> list[tuple]:
    """(volunteer, activity, day, start minute, minutes, final status), skewed and without overlaps."""
    shares = [rng.lognormvariate(0, 1.6) for _ in vols]
    cumulative = []
    running = 0.0
    for share in shares:
        running += share
        cumulative.append(running)
    busy: set[tuple[int, int]] = set()  # (volunteer, activity): one record per volunteer per activity
    by_day: dict[date, list[int]] = {}
    for k, (_, day) in enumerate(acts):
        by_day.setdefault(day, []).append(k)
    used_slots: dict[tuple[int, date], int] = {}
    plan: list[tuple] = []
    attempts = 0
    while len(plan) < total and attempts < total * 4:
        attempts += 1
        v = _pick(cumulative, rng.random() * running)
        k = rng.randrange(len(acts))
        if (v, k) in busy:
            continue
        day = acts[k][1]
        slot = used_slots.get((v, day), 0)
        if slot >= 3:  # three 4-hour slots a day (08:00–20:00), so one volunteer's records never overlap
            continue
        used_slots[(v, day)] = slot + 1
        busy.add((v, k))
        minutes = rng.choice((30, 60, 90, 120, 120, 180, 240))
        roll = rng.random()
        status = ("verified" if roll < 0.85 else "pending" if roll < 0.91 else "rejected" if roll < 0.95
                  else "void" if roll < 0.98 else "corrected")
        plan.append((vols[v], acts[k][0], day, 8 * 60 + slot * 240, minutes, status))
    return plan


def _pick(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _start(day: date, minute: int) -> str:
    return f"{day} {minute // 60:02d}:{minute % 60:02d}"


def _records_by_api(registry: volreg.Registry, plan: list[tuple]) -> None:
    with registry.transaction():
        for volunteer, activity, day, minute, minutes, status in plan:
            start = _start(day, minute)
            recorded = f"{day + timedelta(days=1)} 10:00"
            record = registry.log_service(volunteer, activity, start=start, minutes=minutes, by="组织方",
                                          recorded_at=recorded)
            if status in ("verified", "void", "corrected"):
                record = registry.verify_service(record, by="审核员")
            if status == "rejected":
                registry.reject_service(record, by="审核员", reason="时长不符")
            elif status == "void":
                registry.void_service(record, by="审核员", reason="重复登记")
            elif status == "corrected":
                registry.correct_service(record, by="审核员", reason="更正时长", minutes=minutes - 15 if minutes > 30 else minutes + 15)


def _records_direct(registry: volreg.Registry, plan: list[tuple]) -> None:
    """Rows from the registry's own row builder, inserted in batches of 50,000 in one transaction."""
    zone = get_zone(registry.settings.timezone)
    store = registry._store
    batch: list[dict[str, Any]] = []
    with registry.transaction():
        for n, (volunteer, activity, day, minute, minutes, status) in enumerate(plan):
            start = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
            recorded = start + timedelta(days=1)
            checked = recorded + timedelta(days=2)
            rid = f"svc-{n:09d}"
            record = ServiceRecord(
                id=rid, lineage=rid, volunteer=volunteer, activity=activity, start=start, minutes=minutes,
                recorded_at=recorded, status=status if status in ("pending", "verified") else "verified",
                source="organiser", recorded_by="组织方",
            )
            if status != "pending":
                record = _evolve(record, verified_at=checked, verified_by="审核员")
            if status == "rejected":
                record = _evolve(record, status="rejected", verified_at=None, verified_by=None, closed_at=checked,
                                 closed_by="审核员", reason="时长不符")
            elif status in ("void", "corrected"):
                closed = checked + timedelta(days=3)
                record = _evolve(record, status="void" if status == "void" else "superseded", closed_at=closed,
                                 closed_by="审核员", reason="重复登记" if status == "void" else "更正时长")
                if status == "corrected":
                    batch.append(registry._service_row(record))
                    fixed = f"svc-{n:09d}c"
                    record = _evolve(record, id=fixed, supersedes=rid, status="verified", closed_at=None,
                                     closed_by=None, verified_at=closed, recorded_at=closed,
                                     minutes=minutes - 15 if minutes > 30 else minutes + 15, reason="更正时长")
            batch.append(registry._service_row(record))
            if len(batch) >= 50_000:
                insert_records(store, batch)
                batch = []
        insert_records(store, batch)


def _evolve(record: ServiceRecord, **changes: Any) -> ServiceRecord:
    import attrs

    return attrs.evolve(record, **changes)


def _records_by_import(registry: volreg.Registry, plan: list[tuple], out: Path) -> None:
    """Write the plan as a CSV and import it; statuses other than the import's own are not applied here."""
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        target = Path(folder) / "service_records.csv"
        write_csv(plan, target)
        volreg.import_file(registry, target, kind="service_records", source="benchmark")


def write_csv(plan: list[tuple], target: Path) -> None:
    """The plan as a service-record CSV (external id, volunteer, activity, start, minutes)."""
    with open(target, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["external_id", "volunteer", "activity", "start", "minutes"])
        for n, (volunteer, activity, day, minute, minutes, _status) in enumerate(plan):
            out.writerow([f"B{n:09d}", volunteer, activity, _start(day, minute), minutes])


def _nominations(registry: volreg.Registry, rng: random.Random, vols: list[str], orgs: list[str], total: int) -> None:
    """Nominations through the flow's first steps, and honours for some nominees (the honour roll)."""
    categories = ("helping_others", "bravery", "honesty", "dedication", "filial_piety")
    people = [row["person"] for row in registry._store.rows("SELECT person FROM volunteers ORDER BY id")]
    chosen = rng.sample(people, min(total, len(people)))
    with registry.transaction():
        for n, person in enumerate(chosen):
            quarter = 1 + n % 4
            year = 2023 + n % 3
            at = f"{year}-{3 * quarter - 2:02d}-10 10:00"
            nom = registry.nominate("china_good_person", person, category=categories[n % 5],
                                    nominator=orgs[n % len(orgs)], period=f"{year}-Q{quarter}", at=at,
                                    deed="长期义务照顾孤寡老人")
            step = n % 6
            later = f"{year}-{3 * quarter - 2:02d}-12 10:00"
            if step >= 1:
                registry.advance(nom, "verified", by="文明办", at=later)
            if step == 2:
                registry.advance(nom, "public_review", by="文明办", at=f"{year}-{3 * quarter - 2:02d}-13 10:00",
                                 closes=f"{year}-{3 * quarter - 2:02d}-20 10:00")
            elif step == 3:
                registry.advance(nom, "rejected", by="文明办", note="事迹不实", at=f"{year}-{3 * quarter - 2:02d}-13 10:00")
            elif step == 4:
                registry.advance(nom, "withdrawn", by="文明办", note="本人撤回", at=f"{year}-{3 * quarter - 2:02d}-13 10:00")
        for n, person in enumerate(chosen[: max(5, total // 20)]):
            year = 2023 + n % 3
            registry.award("china_good_person", person, category=categories[n % 5], period=f"{year}-Q{1 + n % 4}",
                           awarded_on=f"{year}-12-20", deed="见义勇为，勇救落水儿童")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--volunteers", type=int)
    parser.add_argument("--records", type=int)
    parser.add_argument("--records-via", choices=("import", "api", "direct"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    made = generate(args.out, scale=args.scale, seed=args.seed, volunteers=args.volunteers, records=args.records,
                    via=args.records_via)
    print(f"{args.out}: {made['record_versions']} record versions via {made['records_via']}, "
          f"{made['sizes']} in {time.perf_counter() - started:.1f} s "
          + " ".join(f"{k}={v:.1f}s" for k, v in made["timings"].items()))


if __name__ == "__main__":
    main()
