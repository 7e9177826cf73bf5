"""Measure `pdrun audit` as users run it against a large sandbox, beside the floor, an ideal client and a baseline.

Starts `pdrun sandbox serve --profile large --scale S` with PagerDuty's
latency and rate limit, then, each on a fresh rate-limit window:

- `pdrun audit` as users run it: the default configuration (no config file),
  the run history on, the default table output, the second audit of the
  account (the first, unmeasured, leaves the findings a user's history
  holds), bytecode compiled as an installation has it;
- benchmarks/ideal_client.py: exactly the minimal requests, as fast as the
  budget and the concurrency allow, keeping nothing;
- benchmarks/baseline_audit.py: the audit as usually scripted.

It prints wall seconds, requests, 429s and peak RSS for each, and the
references: the minimal request count (the README's formula, from the
account's own sizes) and the physical floor for that many requests (full
windows of the rate limit, then latency times rounds at the concurrency).
Then start-up: `pdrun --help`, `list` and `describe`, side by side with
`python -c "import pagerduty"`. Asserts nothing.

    python benchmarks/audit_scale.py                    # 1x the large profile, 50 ms, 960/min
    python benchmarks/audit_scale.py --scale 0.1
    python benchmarks/audit_scale.py --scale 2 --skip-baseline
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PDRUN = str(BIN / "pdrun")
HERE = Path(__file__).parent
CONCURRENCY = 8  # pdrun's default [pagerduty] concurrency, given to the ideal client too
WINDOW_S = 60.0


def pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


def minimal_requests(scale: float, seed: int) -> int:
    """The fewest requests the hygiene audit can make on this account (the README's formula).

    The account is built in a child process: the children measured later
    would otherwise report this process's peak memory as their own.
    """
    code = (
        "import json, sys\n"
        "from datetime import timedelta\n"
        "from runner.sandbox import load_profile\n"
        "from runner.sandbox.incidents import OVERVIEW_ENTRIES\n"
        "from runner.timestamps import iso\n"
        "a = load_profile('large', seed=int(sys.argv[2]), scale=float(sys.argv[1]))\n"
        "now, cutoff, idle = iso(a.now), iso(a.now - timedelta(hours=24)), iso(a.now - timedelta(days=30))\n"
        "kinds = ('services', 'escalation_policies', 'schedules', 'users', 'teams', 'license_allocations',"
        " 'webhook_subscriptions', 'extensions')\n"
        "sizes = {k: len(getattr(a, k)) for k in kinds}\n"
        "sizes['windows'] = sum(w['end_time'] > now for w in a.maintenance_windows.values())\n"
        "sizes['stale'] = sum(i['status'] != 'resolved' and i['created_at'] < cutoff for i in a.incidents.values())\n"
        "sizes['overview'] = sum(e['type'] in OVERVIEW_ENTRIES and idle <= e['created_at'] < now"
        " for e in a.log_entries.values())\n"
        "print(json.dumps(sizes))\n"
    )
    sizes = json.loads(subprocess.run([sys.executable, "-c", code, str(scale), str(seed)], capture_output=True,
                                      text=True, check=True).stdout)
    return sum(map(pages, sizes.values())) + math.ceil(sizes["services"] / 100)


def physical_floor(requests: int, *, per_minute: int, concurrency: int, latency_s: float) -> float:
    """The least time `requests` can take: full-window bursts at the rate limit, then rounds of `concurrency`."""
    windows = math.ceil(requests / per_minute)
    last = requests - (windows - 1) * per_minute
    return (windows - 1) * WINDOW_S + math.ceil(last / concurrency) * latency_s


def start_sandbox(args: argparse.Namespace) -> tuple[subprocess.Popen, str, str]:
    command = [
        PDRUN, "sandbox", "serve", "--port", "0", "--profile", "large", "--scale", str(args.scale),
        "--seed", str(args.seed), "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [server.stdout.readline().strip() for _ in range(2)]
    found = dict(line.split(": ", 1) for line in lines if ": " in line)
    return server, found["url"], found["token"]


def measured(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str, str]:
    """Run a command; return wall seconds, peak RSS in MB, stdout and stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd, text=True)
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = 0
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss // 1024, out.read(), err.read()


def pdrun_env(token: str, workdir: Path) -> dict[str, str]:
    """pdrun's environment: the token, a history and caches of its own, no config file, bytecode as installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PDRUN_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    return env | {"PAGERDUTY_API_TOKEN": token, "XDG_STATE_HOME": str(workdir), "XDG_CACHE_HOME": str(workdir)}


def run_pdrun(url: str, env: dict[str, str], workdir: Path) -> dict:
    """`pdrun audit` with the default configuration and the history on; counts come from its JSON log lines."""
    wall, rss, _, err = measured([PDRUN, "audit", "--base-url", url], env, cwd=workdir)
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    finished = next(e for e in events if e["event"] == "audit.finished")
    retries = [e for e in events if e["event"] == "api.retry"]
    return {"wall_s": wall, "requests": finished["api_calls"], "429s": sum(r["reason"] == "429" for r in retries),
            "rss_mb": rss, "findings": finished["findings"]}


def run_script(name: str, *args: str) -> dict:
    wall, rss, out, _ = measured([sys.executable, str(HERE / name), *args], dict(os.environ))
    counts = json.loads(out)
    return {"wall_s": wall, "requests": counts["requests"], "429s": counts["429"], "rss_mb": rss,
            "findings": counts.get("findings")}


def startup(commands: dict[str, list[str]], runs: int = 15) -> dict[str, float]:
    """Median wall time of each command, run in turns so the machine's load weighs on each alike."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def fresh_window() -> None:
    """Wait until the sandbox's fixed 60-second window that held the last request is over."""
    time.sleep(WINDOW_S + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of the large profile (0.1 to 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate-limit", type=int, default=960, help="the account's requests per minute")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    minimal = minimal_requests(args.scale, args.seed)
    floor = physical_floor(minimal, per_minute=args.rate_limit, concurrency=CONCURRENCY,
                           latency_s=args.latency_ms / 1000)
    server, url, token = start_sandbox(args)
    rows = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = pdrun_env(token, Path(tmp))
            measured([PDRUN, "audit", "--base-url", url], env, cwd=Path(tmp))  # users have run one before
            fresh_window()
            rows["pdrun"] = run_pdrun(url, env, Path(tmp))
        fresh_window()
        rows["ideal"] = run_script("ideal_client.py", url, token, "--concurrency", str(CONCURRENCY),
                                   "--rate-limit", str(args.rate_limit))
        if not args.skip_baseline:
            fresh_window()
            rows["baseline"] = run_script("baseline_audit.py", url, token)
    finally:
        server.terminate()
        server.wait()

    print(f"large profile x{args.scale:g} (seed {args.seed}), latency {args.latency_ms} ms,"
          f" rate limit {args.rate_limit}/min, concurrency {CONCURRENCY}")
    print(f"minimal requests: {minimal}; physical floor for them: {floor:.2f} s")
    print(f"{'':9} {'wall s':>7} {'requests':>9} {'429s':>5} {'peak RSS MB':>12} {'findings':>9}")
    for name, row in rows.items():
        findings = "" if row["findings"] is None else row["findings"]
        print(f"{name:9} {row['wall_s']:7.2f} {row['requests']:9d} {row['429s']:5d} {row['rss_mb']:12d} {findings:>9}")
    pdrun = rows["pdrun"]
    ratios = [f"{pdrun['requests'] / minimal:.2f} x the minimal requests",
              f"{pdrun['wall_s'] / rows['ideal']['wall_s']:.2f} x the ideal client's wall",
              f"{pdrun['wall_s'] / floor:.2f} x the physical floor"]
    if "baseline" in rows:
        ratios.append(f"{pdrun['wall_s'] / rows['baseline']['wall_s']:.2f} x the baseline's wall")
    print("pdrun: " + ", ".join(ratios))
    medians = startup({
        "import pagerduty": [sys.executable, "-c", "import pagerduty"],
        "pdrun --help": [PDRUN, "--help"],
        "pdrun list": [PDRUN, "list"],
        "pdrun describe": [PDRUN, "describe", "services-disabled"],
    })
    reference = medians.pop("import pagerduty")
    print(f"start-up (median of 15, in turns): python -c 'import pagerduty' {reference * 1000:.0f} ms; "
          + ", ".join(f"{name} {t * 1000:.0f} ms ({t / reference:.2f} x)" for name, t in medians.items()))


if __name__ == "__main__":
    main()
