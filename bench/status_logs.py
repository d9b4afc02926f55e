#!/usr/bin/env python3
"""Benchmarks for crawlctl status and crawlctl logs (docs/performance.md).

status: wall time of `crawlctl status` against a Redis holding a job of 1,000,000 URLs and
1,000 (then 10,000) simulated worker heartbeats, next to `redis-cli PING` (the floor for any
command-line Redis client: start a process, connect, one round trip).

logs: `crawlctl logs --outdir` against an sshd fleet (bench/fleet_server) whose hosts each hold
two worker logs of 1 MB (one of them rotated once): the first fetch, a refresh with nothing
new, and a refresh after 10 kB more per log.

Usage: bench/status_logs.py [--hosts 20] [--runs 30]   (after scripts/build.sh)
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRAWLCTL = os.path.join(ROOT, "build/apps/crawlctl/crawlctl")
FLEET_SERVER = os.path.join(ROOT, "build/bench/fleet_server")


def timed(argv, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode not in (0, 4, 8, 12):
            raise SystemExit(f"{argv}: exit {r.returncode}: {r.stderr}")
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def resp(*words):
    out = [f"*{len(words)}\r\n"]
    for w in words:
        b = str(w)
        out.append(f"${len(b.encode())}\r\n{b}\r\n")
    return "".join(out)


def heartbeats(redis_url, n, start):
    now = int(time.time() * 1000)
    lines = []
    for i in range(start, n):
        wid = f"sim{i // 4}/{i % 4 + 1}"
        # The value a worker writes (lib/queue/heartbeat.hpp: encode_heartbeat).
        beat = (f"host=sim{i // 4}\npid={1000 + i}\nstate=running\nstarted_ms={now}\ndeploy=bench\n"
                f"last_ms={now}\nttl_ms=600000\nin_flight=16\ntransfers=16\nbody_memory=1048576\n"
                "pages=1234\nfailed=5\nfiltered=7\nretries=2\nbytes=123456789\nrate=12.50\n"
                "rss_bytes=52000000\nconcurrency=64\nerror.http_503=2\nerror.timeout=3\n")
        lines.append(resp("SET", f"crawl:worker:{wid}", beat))
        lines.append(resp("SET", f"crawl:worker:{wid}:alive", 1, "PX", 600000))
        lines.append(resp("SADD", "crawl:workers", wid))
    subprocess.run(["redis-cli", "-u", redis_url, "--pipe"], input="".join(lines), text=True, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="crawl-bench-status-")
    os.chmod(work, 0o755)  # the accounts reach their homes through it
    # Own accounts, as bench/deploy.py does: root's login shell here costs a second per session.
    fleet = subprocess.Popen([FLEET_SERVER, "--hosts", str(args.hosts), "--workers", "2", "--users", "crawlbench",
                              "--out", work],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if fleet.stdout.readline().strip() != "ready":
            raise SystemExit("fleet_server failed")
        env = dict(line.strip().split("=", 1) for line in open(os.path.join(work, "fleet.env")))
        redis = env["REDIS_URL"]

        # --- status ---
        urls = os.path.join(work, "urls.txt")
        with open(urls, "w") as f:
            for i in range(1_000_000):
                f.write(f"http://site{i % 1000}.example/page/{i}\n")
        t = time.perf_counter()
        subprocess.run([CRAWLCTL, "submit", "-f", urls, "--quiet", "--redis", redis], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"submit 1,000,000 URLs: {time.perf_counter() - t:.2f} s")
        ping = timed(["redis-cli", "-u", redis, "PING"], args.runs)
        print(f"redis-cli PING: median {ping[0]:.1f} ms, p95 {ping[1]:.1f} ms")
        for n in (1000, 10000):
            heartbeats(redis, n, 0 if n == 1000 else 1000)
            one = timed([CRAWLCTL, "status", "1", "--json", "--redis", redis], args.runs)
            table = timed([CRAWLCTL, "status", "--redis", redis], args.runs)
            print(f"{n} heartbeats, job of 1M URLs: status 1 --json median {one[0]:.1f} ms, p95 {one[1]:.1f} ms;"
                  f" status (table) median {table[0]:.1f} ms, p95 {table[1]:.1f} ms")

        # --- logs --outdir ---
        hosts_yaml = os.path.join(work, "hosts.yaml")
        dirs = [line.split('"')[1] for line in open(hosts_yaml) if "remote_dir:" in line]
        line = "2026-11-22T10:00:00.000Z info crawlworker event=stats pages=1234 failed=5 filtered=7 rate=12.50\n"
        for d in dirs:
            os.makedirs(os.path.join(d, "log"), exist_ok=True)
            for name in ("w1.1.log", "w1.log", "w2.log"):
                with open(os.path.join(d, "log", name), "w") as f:
                    f.write(line * (1_000_000 // len(line) // (2 if name.startswith("w1") else 1)))
        out = os.path.join(work, "logs")
        base = [CRAWLCTL, "logs", "--outdir", out, "-H", hosts_yaml, "--ssh-config", "none", "--json"]

        def fetch(label):
            t = time.perf_counter()
            r = subprocess.run(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            ms = (time.perf_counter() - t) * 1000
            if r.returncode != 0:
                raise SystemExit(f"logs failed: {r.stderr}{r.stdout}")
            import json
            fetched = sum(h.get("bytes_fetched", 0) for h in json.loads(r.stdout)["hosts"])
            print(f"logs --outdir, {len(dirs)} hosts, {label}: {ms:.0f} ms, {fetched / 1e6:.2f} MB fetched")

        fetch("first fetch")
        fetch("refresh, nothing new")
        for d in dirs:
            for name in ("w1.log", "w2.log"):
                with open(os.path.join(d, "log", name), "a") as f:
                    f.write(line * (10_000 // len(line)))
        fetch("refresh, 10 kB new per log")
    finally:
        fleet.stdin.close()
        fleet.wait(timeout=120)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
