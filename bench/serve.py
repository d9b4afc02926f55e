#!/usr/bin/env python3
"""Benchmarks for crawlctl serve (docs/performance.md), against a private redis-server.

- GET /jobs/{id} and GET /metrics under load (wrk, 2 threads, 8 connections, 10 s): requests/s
  and p99 latency, with 1,000 simulated workers heartbeating and a job of 100,000 URLs;
- GET /workers, GET /metrics and `crawlctl status` (--json and tables) at 10,000 workers: median
  and p95 of single requests (curl's total time; crawlctl's wall time, run in turn with
  redis-cli PING's, the machine's yardstick);
- a result set of 1,000,000 records streamed by GET /jobs/{id}/results and `crawlctl results`
  on the same job, in turn, three times each: wall and CPU time, and peak RSS of serve (VmHWM)
  and of crawlctl.

Usage: bench/serve.py [--records 1000000] [--runs 20]   (after scripts/build.sh)
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time

# The status benchmark's simulated heartbeats, and its timing of a whole process.
from status_logs import heartbeats, resp, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRAWLCTL = os.path.join(ROOT, "build/apps/crawlctl/crawlctl")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipe(port, lines):
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input="".join(lines), text=True, check=True,
                   stdout=subprocess.DEVNULL)


def records(port, job, n):
    for first in range(0, n, 100_000):
        lines = []
        for i in range(first, min(n, first + 100_000)):
            url = f"http://site{i % 1000}.example/page/{i}"
            rec = json.dumps({"url": url, "outcome": "done", "status": 200, "title": f"Page {i}",
                              "content_type": "text/html", "bytes": 12345, "fetch_ms": 42, "depth": 2,
                              "links": 30, "images": [f"http://site{i % 1000}.example/img/{i}.png",
                                                      f"http://site{i % 1000}.example/img/logo.png"],
                              "worker": "sim0/1", "at_ms": 1796572978915}, separators=(",", ":"))
            lines.append(resp("HSET", f"crawl:job:{job}:results", url, rec))
        pipe(port, lines)


def curl_ms(url, runs):
    times = []
    for _ in range(runs):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", url],
                           capture_output=True, text=True, check=True)
        code, total = r.stdout.split()
        if code != "200":
            raise SystemExit(f"GET {url}: {code}")
        times.append(float(total) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def wrk(url):
    r = subprocess.run(["wrk", "-t2", "-c8", "-d10s", "--latency", url], capture_output=True, text=True, check=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", r.stdout)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if errors:
        raise SystemExit(f"wrk {url}: {errors.group(1)} errors")
    return rps, float(p99.group(1)) * scale


def hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return -1


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def start_serve(url):
    http_port = free_port()
    serve = subprocess.Popen([CRAWLCTL, "serve", "--listen", f"127.0.0.1:{http_port}", "--redis", url],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http_port}"
    for _ in range(100):
        if subprocess.run(["curl", "-sf", base + "/healthz"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    return serve, base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="crawl-bench-serve-")
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
    serve = None
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        seeds = os.path.join(work, "urls.txt")
        with open(seeds, "w") as f:
            for i in range(100_000):
                f.write(f"http://site{i % 1000}.example/page/{i}\n")
        subprocess.run([CRAWLCTL, "submit", "-f", seeds, "--quiet", "--redis", url], check=True,
                       stdout=subprocess.DEVNULL)
        heartbeats(url, 1000, 0)
        serve, base = start_serve(url)
        for path in ("/jobs/1", "/metrics"):
            rps, p99 = wrk(base + path)
            print(f"1,000 workers, GET {path}: {rps:.0f} requests/s, p99 {p99:.1f} ms (wrk -t2 -c8 -d10s)")
        heartbeats(url, 10_000, 1000)
        for path in ("/workers", "/metrics", "/jobs/1"):
            med, p95 = curl_ms(base + path, args.runs)
            print(f"10,000 workers, GET {path}: median {med:.1f} ms, p95 {p95:.1f} ms")
        # Round robin, so that the three see the same minutes of this shared machine: its speed
        # moves by a third from one minute to the next, and redis-cli's process is the yardstick.
        names = ("crawlctl status 1 --json", "crawlctl status 1 (tables)",
                 "redis-cli PING (a process, a connection, a round trip)")
        argvs = ([CRAWLCTL, "status", "1", "--json", "--redis", url], [CRAWLCTL, "status", "1", "--redis", url],
                 ["redis-cli", "-u", url, "PING"])
        times = [[], [], []]
        for _ in range(args.runs):
            for k, argv in enumerate(argvs):
                times[k].append(timed(argv, 1)[0])
        for name, ms in zip(names, times):
            ms.sort()
            print(f"10,000 workers, {name}: median {statistics.median(ms):.1f} ms, "
                  f"p95 {ms[int(len(ms) * 0.95) - 1]:.1f} ms")

        records(port, 1, args.records)
        # A fresh serve: its peak RSS is the stream's alone.
        serve.terminate()
        serve.wait(timeout=30)
        serve, base = start_serve(url)
        # The stream and `crawlctl results` in turn, three times each: wall time, and the CPU time
        # of serve (from /proc) and of crawlctl (its rusage).
        streamed = os.path.join(work, "streamed.jsonl")
        out = os.path.join(work, "results.jsonl")
        served, ctl_s, served_cpu, ctl_cpu = [], [], [], []
        serve_rss = ctl_rss = 0
        for _ in range(3):
            before = cpu_seconds(serve.pid)
            t = time.perf_counter()
            subprocess.run(["curl", "-sf", "-o", streamed, base + "/jobs/1/results"], check=True)
            served.append(time.perf_counter() - t)
            served_cpu.append(cpu_seconds(serve.pid) - before)
            serve_rss = hwm(serve.pid)
            t = time.perf_counter()
            with open(out, "wb") as f:
                ctl = subprocess.Popen([CRAWLCTL, "results", "1", "--redis", url], stdout=f)
                while True:  # its peak RSS, read while it runs; its CPU time when it ends
                    pid, status, usage = os.wait4(ctl.pid, os.WNOHANG)
                    if pid:
                        break
                    try:
                        ctl_rss = max(ctl_rss, hwm(ctl.pid))
                    except OSError:
                        pass
                    time.sleep(0.01)
                ctl.returncode = os.waitstatus_to_exitcode(status)
            ctl_s.append(time.perf_counter() - t)
            ctl_cpu.append(usage.ru_utime + usage.ru_stime)
            if ctl.returncode != 0:
                raise SystemExit(f"crawlctl results: exit {ctl.returncode}")
        lines = sum(1 for _ in open(streamed, "rb"))
        ctl_lines = sum(1 for _ in open(out, "rb"))
        print(f"{lines:,} records, GET /jobs/1/results: {', '.join(f'{x:.2f}' for x in served)} s "
              f"(serve's CPU {', '.join(f'{x:.2f}' for x in served_cpu)} s), serve's peak RSS {serve_rss / 2**20:.1f} MiB")
        print(f"{ctl_lines:,} records, crawlctl results 1: {', '.join(f'{x:.2f}' for x in ctl_s)} s "
              f"(its CPU {', '.join(f'{x:.2f}' for x in ctl_cpu)} s), "
              f"its peak RSS {ctl_rss / 2**20:.1f} MiB")
        print(f"median stream / median crawlctl results: {statistics.median(served) / statistics.median(ctl_s):.2f}")
    finally:
        if serve:
            serve.terminate()
            serve.wait(timeout=30)
        redis.terminate()
        redis.wait(timeout=30)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
