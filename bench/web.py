"""The shim's cost on a real server: a twisted.web app under wrk on loopback, shim on against off.

    python bench/web.py [--repeat N] [--seconds S] [--connections C] [--app web|klein]

Runs bare and shim (every hook, watchdog and sender on, writing a recording) back to back, N pairs; the
server is pinned to one core and wrk to the other. Prints medians per mode and the median of the per-pair
ratios (pairing cancels the slow drift of a shared machine), plus the server's CPU time per request.
Targets (issue 3): throughput ratio at least 0.97, p99 ratio at most 1.05. Needs wrk and taskset. ``--app klein``
serves the same work from a Klein route (apps/klein_server.py; needs klein): the shim then looks for the route
behind KleinResource.render on every request (runtime/reactorscope/web_hooks.py).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNTIME = HERE.parent / "runtime"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(mode, args, tmp):
    port = free_port()
    app = [str(HERE / "apps" / f"{args.app}_server.py"), str(port)]
    if mode == "shim":
        app = ["-m", "reactorscope", "run", "--record", str(tmp / "web.bin"), *app]
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    server = subprocess.Popen(["taskset", "-c", "1", sys.executable, *app], env=env, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise SystemExit(f"{mode} server did not start")
        cpu_before = cpu_seconds(server.pid)
        out = subprocess.run(
            ["taskset", "-c", "0", "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
             f"http://127.0.0.1:{port}/"],
            capture_output=True, text=True, check=True,
        ).stdout
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    if re.search(r"Socket errors|Non-2xx", out):
        raise SystemExit(f"wrk saw errors:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, float(value) * UNITS[unit], cpu / requests * 1e6


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--app", choices=["web", "klein"], default="web")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian package wrk; scripts/system-deps.sh installs it)")
    import twisted

    results = {"bare": [], "shim": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for mode in results:
                results[mode].append(measure(mode, args, Path(tmp)))
    pairs = list(zip(results["bare"], results["shim"]))
    print(f"Python {sys.version.split()[0]}, Twisted {twisted.__version__}, {os.cpu_count()} cores; wrk -t1 "
          f"-c{args.connections} -d{args.seconds}s; {args.repeat} bare/shim pairs; app {args.app}")
    print(f"{'mode':<6}{'req/s':>10}{'p99 ms':>9}{'CPU us/req':>12}")
    for m, runs in results.items():
        print(f"{m:<6}{statistics.median(r[0] for r in runs):>10.0f}{statistics.median(r[1] for r in runs):>9.2f}"
              f"{statistics.median(r[2] for r in runs):>12.1f}")
    throughput = statistics.median(s[0] / b[0] for b, s in pairs)
    p99 = statistics.median(s[1] / b[1] for b, s in pairs)
    cpu = statistics.median(s[2] / b[2] for b, s in pairs)
    print(f"median pair ratios (shim/bare): throughput {throughput:.3f}, p99 {p99:.3f}, CPU per request {cpu:.3f}")


if __name__ == "__main__":
    main()
