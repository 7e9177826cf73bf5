"""Measure `pdrun audit` on a large sandbox account against a hand-written baseline, and the lower bound.

Starts `pdrun sandbox serve` with the given profile, latency and rate limit,
then runs `pdrun audit` and benchmarks/baseline_audit.py against it, one
after the other. Prints, for each: wall seconds, requests, 429s seen, peak
RSS; and the lower bound: the fewest requests the audit can make and the time
that many requests take at the rate limit. Also times `pdrun list` against
`python -c "import pagerduty"`. Asserts nothing.

    python benchmarks/audit_scale.py                       # large profile, 50 ms, 960/min (several minutes)
    python benchmarks/audit_scale.py --profile demo --rate-limit 120
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


def pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


def minimal_requests(profile: str, seed: int) -> int:
    """The fewest requests a full audit can make (the formula in the README).

    The account is built in a child process: the children measured later
    would otherwise report this process's peak memory as their own.
    """
    code = (
        "import json, sys\n"
        "from runner.sandbox import load_profile\n"
        "a = load_profile(sys.argv[1], seed=int(sys.argv[2]))\n"
        "print(json.dumps({k: len(getattr(a, k)) for k in ('services', 'escalation_policies', 'schedules', 'users',"
        " 'teams')} | {'open_incidents': sum(i['status'] != 'resolved' for i in a.incidents.values())}))\n"
    )
    sizes = json.loads(subprocess.run([sys.executable, "-c", code, profile, str(seed)], capture_output=True,
                                      text=True, check=True).stdout)
    return (
        pages(sizes["services"]) + pages(sizes["escalation_policies"]) + pages(sizes["schedules"])
        + pages(sizes["users"]) + pages(sizes["teams"]) + pages(sizes["open_incidents"])
        + sizes["schedules"] + math.ceil(sizes["services"] / 100)
    )


def start_sandbox(args: argparse.Namespace) -> tuple[subprocess.Popen, str, str]:
    command = [
        PDRUN, "sandbox", "serve", "--port", "0", "--profile", args.profile, "--seed", str(args.seed),
        "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [server.stdout.readline().strip() for _ in range(2)]
    found = dict(line.split(": ", 1) for line in lines if ": " in line)
    return server, found["url"], found["token"]


def measured(command: list[str], env: dict[str, str]) -> tuple[float, int, str, str]:
    """Run a command; return wall seconds, peak RSS in MB, stdout and stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True)
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = 0
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss // 1024, out.read(), err.read()


def run_pdrun(url: str, token: str, workdir: Path, rate_limit: int) -> dict:
    config = workdir / "bench.toml"
    budget = int(rate_limit * 0.95)  # pdrun's own budget, kept just below the account's limit
    config.write_text(f'[pagerduty]\nrate_limit = {budget}\nconcurrency = 8\n[logging]\nformat = "json"\n')
    env = {**os.environ, "PAGERDUTY_API_TOKEN": token, "XDG_STATE_HOME": str(workdir)}
    command = [PDRUN, "audit", "--base-url", url, "--config", str(config), "--format", "json", "--no-history"]
    wall, rss, out, err = measured(command, env)
    report = json.loads(out)
    retries = [json.loads(line) for line in err.splitlines() if '"api.retry"' in line]
    return {
        "wall_s": wall, "requests": report["totals"]["api_calls"], "429s": sum(r["reason"] == "429" for r in retries),
        "rss_mb": rss, "findings": report["totals"]["findings"], "budget_per_min": budget,
    }


def run_baseline(url: str, token: str) -> dict:
    script = str(Path(__file__).with_name("baseline_audit.py"))
    wall, rss, out, _ = measured([sys.executable, script, url, token], dict(os.environ))
    counts = json.loads(out)
    return {"wall_s": wall, "requests": counts["requests"], "429s": counts["429"], "rss_mb": rss,
            "findings": counts["findings"]}


def startup(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate-limit", type=int, default=960, help="the account's requests per minute")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    minimal = minimal_requests(args.profile, args.seed)
    bound_s = max(minimal / (args.rate_limit / 60), args.latency_ms / 1000)
    server, url, token = start_sandbox(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pdrun = run_pdrun(url, token, Path(tmp), args.rate_limit)
        # Start the baseline on a fresh rate-limit window, as pdrun had.
        time.sleep(61)
        baseline = None if args.skip_baseline else run_baseline(url, token)
    finally:
        server.terminate()
        server.wait()

    print(f"profile {args.profile} (seed {args.seed}), latency {args.latency_ms} ms, rate limit {args.rate_limit}/min")
    print(f"lower bound: {minimal} requests, {bound_s:.1f} s at the rate limit")
    print(f"{'':10} {'wall s':>8} {'requests':>9} {'429s':>6} {'peak RSS MB':>12} {'findings':>9}")
    for name, row in (("pdrun", pdrun), ("baseline", baseline)):
        if row:
            print(f"{name:10} {row['wall_s']:8.1f} {row['requests']:9d} {row['429s']:6d} {row['rss_mb']:12d} {row['findings']:9d}")
    print(f"pdrun: {pdrun['requests'] / minimal:.2f} x the minimal requests, {pdrun['wall_s'] / bound_s:.2f} x the"
          f" lower-bound time (its own budget: {pdrun['budget_per_min']}/min)")
    if baseline:
        print(f"pdrun is {baseline['wall_s'] / pdrun['wall_s']:.1f} x faster than the baseline")
    listing = startup([PDRUN, "list"])
    importing = startup([sys.executable, "-c", "import pagerduty"])
    print(f"start-up (median of 7): pdrun list {listing * 1000:.0f} ms, python -c 'import pagerduty' {importing * 1000:.0f} ms")


if __name__ == "__main__":
    main()
