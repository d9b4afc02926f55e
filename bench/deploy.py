#!/usr/bin/python3
"""Deploy benchmark: crawlctl deploy against pssh, Fabric 2, Ansible and a bash loop over OpenSSH
with ControlMaster, on one simulated fleet, at the round-trip times asked for.

Every tool does the same steps on every host: upload the same crawlworker (the build's, without
debug information) and its config, start 4 crawlworkers detached under dtach, and check they run.
Each host is its own account on its own sshd (bench/fleet_server), so each has its own home
directory, as real machines do. With --rtt, every connection goes through a user-space delay
proxy (bench/delay_proxy.py) that adds that round-trip time. Per tool, fleet size and RTT it
reports wall time, the controller's CPU (the tool and everything it ran) and the hosts' CPU (what
the fleet's sshd processes and the sessions they ran used) per host; then, for each RTT above 0,
the round trips per host that the added time implies: (wall at RTT - wall at 0) / RTT. Through
the proxy it also counts the bytes the controller sent (its uplink's share of the deploy).

`ours-relay` is `crawlctl deploy --relay`: the first host gets the binary and passes it on to the
others, which it reaches directly (relay_address and relay_port, as a private network would be),
not through the proxy: the proxy stands for the controller's long link only.

With --uplink-mbit, what the controller sends through the proxy shares one link of that speed,
as from an office or a laptop.

  bench/deploy.py --sizes 1,10 --rtt 0,40,200 [--tools ours,ours-relay,fabric,ssh-cm,pssh,ansible]
                  [--runs 1] [--uplink-mbit 20]
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from delay_proxy import DelayProxy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
CRAWLCTL = os.path.join(BUILD, "apps/crawlctl/crawlctl")
WORKER = os.path.join(BUILD, "apps/crawlworker/crawlworker")
FLEET_SERVER = os.path.join(BUILD, "bench/fleet_server")

START = r"""set -e
cd {dir}
chmod 700 crawlworker
for i in 1 2 3 4; do
  dtach -n w$i.sock sh -c 'echo $$ > "$1"; exec ./crawlworker --config worker.yaml --id "$2" >> "$3" 2>&1' \
    crawlworker w$i.pid "$USER/$i" w$i.log < /dev/null
done
sleep 0.5
for i in 1 2 3 4; do kill -0 "$(cat w$i.pid)"; done
"""


def sshd_cpu(pids):
    """CPU seconds used so far by the fleet's sshd listeners' sessions: what they reaped, plus
    what their live descendants have used (a session still open, an ssh ControlMaster's)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, used = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    roots, total = set(pids), 0
    for pid in pids:
        total += used.get(pid, 0)  # its cutime and cstime hold the sessions it has reaped
    for pid in parent:
        p = parent[pid]
        while p > 1 and p not in roots:
            p = parent.get(p, 0)
        if p in roots and pid not in roots:
            total += used[pid]
    return total / tick


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


class Fleet:
    def __init__(self, n, work):
        self.dir = os.path.join(work, f"fleet{n}")
        os.makedirs(self.dir)
        self.proc = subprocess.Popen([FLEET_SERVER, "--hosts", str(n), "--workers", "4", "--users", "crawlbench",
                                      "--out", self.dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("fleet_server failed")
        env = {}
        for line in open(os.path.join(self.dir, "fleet.env")):
            key, _, value = line.strip().partition("=")
            env[key] = value.strip('"')
        self.key, self.known_hosts, self.redis = env["KEY"], env["KNOWN_HOSTS"], env["REDIS_URL"]
        self.sshd_pids = [int(p) for p in env["SSHD_PIDS"].split()]
        self.hosts = [line.strip() for line in open(os.path.join(self.dir, "hosts.txt"))]
        self.n = n
        self.direct_known_hosts = self.known_hosts
        self.yaml = os.path.join(self.dir, "hosts.yaml")
        self.proxy = None

    def through(self, rtt_ms, uplink_mbit=0):
        """Points every tool at the hosts through a delay proxy adding rtt_ms (0: directly)."""
        if self.proxy:
            self.proxy.close()
            self.proxy = None
        self.hosts = [line.strip() for line in open(os.path.join(self.dir, "hosts.txt"))]
        self.known_hosts = self.direct_known_hosts
        self.yaml = os.path.join(self.dir, "hosts.yaml")
        if rtt_ms == 0:
            return
        self.proxy = DelayProxy(rtt_ms, uplink_mbit)
        yaml = open(self.yaml).read()
        known = open(self.known_hosts).read()
        hosts = []
        for entry in self.hosts:
            user, host, port = user_host_port(entry)
            via = self.proxy.add(host, int(port))
            hosts.append(f"{user}@127.0.0.1:{via}")
            # The same host key, now found at the proxy's address.
            known = known.replace(f"[{host}]:{port} ", f"[127.0.0.1]:{via} ")
            yaml = yaml.replace(f"    address: {host}\n    port: {port}\n",
                                f"    address: 127.0.0.1\n    port: {via}\n"
                                f"    relay_address: {host}\n    relay_port: {port}\n")
        self.hosts = hosts
        self.known_hosts = os.path.join(self.dir, f"known_hosts.rtt{rtt_ms}")
        with open(self.known_hosts, "w") as f:
            f.write(known)
        self.yaml = os.path.join(self.dir, f"hosts.rtt{rtt_ms}.yaml")
        with open(self.yaml, "w") as f:
            f.write(yaml.replace(self.direct_known_hosts, self.known_hosts))

    def close(self):
        if self.proxy:
            self.proxy.close()
        self.proc.stdin.close()
        self.proc.wait(timeout=120)

    def ssh_args(self):
        return ["-F", "/dev/null", "-i", self.key, "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]

    def clean(self):
        """Stops every worker and removes what any tool installed."""
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and open(f"/proc/{pid}/comm").read().strip() in ("crawlworker", "dtach"):
                    if any(f"{self.dir}/homes/" in os.readlink(f"/proc/{pid}/cwd") for _ in [0]):
                        os.kill(int(pid), 9)
            except OSError:
                pass
        time.sleep(0.5)
        homes = os.path.join(self.dir, "homes")
        for user in os.listdir(homes):
            for name in os.listdir(os.path.join(homes, user)):
                if name.startswith("crawl"):
                    shutil.rmtree(os.path.join(homes, user, name), ignore_errors=True)


def user_host_port(entry):
    user, _, rest = entry.partition("@")
    host, _, port = rest.rpartition(":")
    return user, host, port


def tool_ours(fleet, payload, work, extra=()):
    r = run([CRAWLCTL, "deploy", "-H", fleet.yaml, "--ssh-config", "none",
             "--worker-binary", payload["binary"], "--fanout", str(max(fleet.n, 1)), *extra] +
            os.environ.get("OURS_EXTRA", "").split())
    return r.returncode == 0, r.stdout[-2000:]


def tool_ours_relay(fleet, payload, work):
    return tool_ours(fleet, payload, work, ["--relay"])


def tool_pssh(fleet, payload, work):
    hosts = os.path.join(work, "pssh_hosts")
    with open(hosts, "w") as f:
        f.write("\n".join(fleet.hosts) + "\n")
    x = " ".join(fleet.ssh_args())
    common = ["-h", hosts, "-p", str(fleet.n), "-t", "300", "-x", x]
    steps = [["parallel-ssh", *common, "mkdir -p crawl-pssh"],
             ["parallel-scp", *common, payload["binary"], payload["config"], "crawl-pssh/"],
             ["parallel-ssh", *common, START.format(dir="crawl-pssh")]]
    out = ""
    for argv in steps:
        r = run(argv)
        out += r.stdout
        if r.returncode != 0:
            return False, out[-2000:]
    return True, ""


def tool_fabric(fleet, payload, work):
    script = os.path.join(work, "fab_deploy.py")
    with open(script, "w") as f:
        f.write(f"""
import sys
from fabric import ThreadingGroup
hosts = {fleet.hosts!r}
g = ThreadingGroup(*hosts, connect_kwargs={{"key_filename": {fleet.key!r}, "look_for_keys": False, "allow_agent": False}})
for c in g:
    c.client.load_host_keys({fleet.known_hosts!r})
g.run("mkdir -p crawl-fabric", hide=True)
g.put({payload['binary']!r}, remote="crawl-fabric/crawlworker")
g.put({payload['config']!r}, remote="crawl-fabric/worker.yaml")
g.run({START.format(dir='crawl-fabric')!r}, hide=True)
""")
    r = run(["/usr/bin/python3", script])
    return r.returncode == 0, r.stdout[-2000:]


def tool_ansible(fleet, payload, work):
    inventory = os.path.join(work, "ansible_hosts")
    with open(inventory, "w") as f:
        for i, entry in enumerate(fleet.hosts, 1):
            user, host, port = user_host_port(entry)
            f.write(f"h{i} ansible_host={host} ansible_port={port} ansible_user={user} "
                    f"ansible_ssh_private_key_file={fleet.key} "
                    f"ansible_ssh_common_args='-F /dev/null -o UserKnownHostsFile={fleet.known_hosts}' "
                    f"ansible_python_interpreter=/usr/bin/python3\n")
    play = os.path.join(work, "play.yml")
    with open(play, "w") as f:
        f.write(f"""- hosts: all
  gather_facts: false
  tasks:
    - file: {{path: crawl-ansible, state: directory}}
    - copy: {{src: {payload['binary']}, dest: crawl-ansible/crawlworker, mode: "0700"}}
    - copy: {{src: {payload['config']}, dest: crawl-ansible/worker.yaml, mode: "0600"}}
    - shell: |
{chr(10).join('        ' + l for l in START.format(dir='crawl-ansible').splitlines())}
""")
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-tmp"))
    r = run(["ansible-playbook", "-f", str(fleet.n), "-i", inventory, play], env=env)
    return r.returncode == 0, r.stdout[-3000:]


def tool_ssh_cm(fleet, payload, work):
    """A bash loop over OpenSSH, one ControlMaster connection per host that its steps share."""
    script = os.path.join(work, "ssh_cm.sh")
    opts = " ".join(fleet.ssh_args())
    start = START.format(dir="crawl-ssh")
    with open(script, "w") as f:
        f.write(f"""set -u
one() {{
  user_host=${{1%:*}}; port=${{1##*:}}; sock={work}/cm-$port.sock
  o="{opts} -p $port -o ControlPath=$sock"
  ssh $o -o ControlMaster=yes -o ControlPersist=no -fN "$user_host" || return 1
  ssh $o "$user_host" 'mkdir -p crawl-ssh' &&
    scp -q {opts} -P "$port" -o ControlPath="$sock" {payload['binary']} {payload['config']} "$user_host:crawl-ssh/" &&
    ssh $o "$user_host" sh -s <<'END_OF_START'
{start}
END_OF_START
  rc=$?
  ssh $o -O exit "$user_host" 2>/dev/null
  return $rc
}}
pids=()
for h in "$@"; do one "$h" & pids+=($!); done
rc=0
for p in "${{pids[@]}}"; do wait "$p" || rc=1; done
exit $rc
""")
    r = run(["bash", script, *fleet.hosts])
    return r.returncode == 0, r.stdout[-2000:]


TOOLS = {"ssh-cm": tool_ssh_cm, "ours": tool_ours, "ours-re": tool_ours, "ours-relay": tool_ours_relay, "pssh": tool_pssh, "fabric": tool_fabric, "ansible": tool_ansible}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--rtt", default="0", help="round-trip times to add, in ms")
    parser.add_argument("--tools", default="ours,pssh,fabric,ansible")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--uplink-mbit", type=float, default=0,
                        help="the controller's uplink through the proxy, Mbit/s (0: not limited)")
    args = parser.parse_args()
    for path in (CRAWLCTL, WORKER, FLEET_SERVER):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path} is missing: run scripts/build.sh first")
    missing = [t for t, exe in (("pssh", "parallel-ssh"), ("fabric", "/usr/bin/python3"), ("ansible", "ansible-playbook"))
               if t in args.tools and not shutil.which(exe)]
    if "fabric" in args.tools and subprocess.run(["/usr/bin/python3", "-c", "import fabric"]).returncode != 0:
        missing.append("fabric")
    if missing:
        raise SystemExit(f"missing tools for {missing}: apt-get install pssh python3-fabric ansible-core")
    rtts = [int(r) for r in args.rtt.split(",")]
    work = tempfile.mkdtemp(prefix="crawl-deploy-bench-")
    os.chmod(work, 0o755)  # the hosts' accounts live below it
    # The payload: the crawlworker deploy ships (the build strips its debug information).
    binary = os.path.join(work, "crawlworker")
    subprocess.run(["objcopy", "--strip-debug", WORKER, binary], check=True)
    os.chmod(binary, 0o755)
    print(f"payload {os.path.getsize(binary)} bytes; {os.cpu_count()} cores", flush=True)
    print(f"{'hosts':>5} {'rtt ms':>6} {'tool':10} {'wall s':>8} {'ctl CPU ms/host':>16} {'host CPU ms/host':>17} "
          f"{'ctl sent MB':>11} ok", flush=True)
    walls = {}
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            fleet = Fleet(n, work)
            config = os.path.join(work, "worker.yaml")
            with open(config, "w") as f:
                f.write(f"redis:\n  url: {fleet.redis}\n")
            payload = {"binary": binary, "config": config}
            try:
                for run_no in range(args.runs):
                    for rtt in rtts:
                        fleet.through(rtt, args.uplink_mbit)
                        tools = args.tools.split(",")
                        if "ours" in tools:  # then an unchanged redeploy
                            tools.insert(tools.index("ours") + 1, "ours-re")
                        for tool in tools:
                            if tool != "ours-re":
                                fleet.clean()
                            c0, s0, t0 = children_cpu(), sshd_cpu(fleet.sshd_pids), time.monotonic()
                            b0 = fleet.proxy.sent if fleet.proxy else 0
                            ok, out = TOOLS[tool](fleet, payload, work)
                            wall = time.monotonic() - t0
                            ctl, srv = children_cpu() - c0, sshd_cpu(fleet.sshd_pids) - s0
                            sent = f"{(fleet.proxy.sent - b0) / 1e6:11.2f}" if fleet.proxy else f"{'-':>11}"
                            walls.setdefault((n, tool, rtt), []).append(wall)
                            print(f"{n:5d} {rtt:6d} {tool:10} {wall:8.2f} {1000 * ctl / n:16.1f} "
                                  f"{1000 * srv / n:17.1f} {sent} {'yes' if ok else 'NO'}", flush=True)
                            if not ok:
                                print(out, file=sys.stderr)
                fleet.through(0)
                fleet.clean()
            finally:
                fleet.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if any(r > 0 for r in rtts) and 0 in rtts:
        print("round trips per host, from the added time: (median wall at RTT - median wall at 0) / RTT")
        for (n, tool, rtt), w in sorted(walls.items()):
            if rtt == 0:
                continue
            base = sorted(walls[(n, tool, 0)])[len(walls[(n, tool, 0)]) // 2]
            at = sorted(w)[len(w) // 2]
            print(f"{n:5d} {rtt:6d} {tool:10} {(at - base) / (rtt / 1000):6.1f}")


if __name__ == "__main__":
    main()
