"""HTTP load bench: N concurrent clients send a fixed number of requests to the API.

By default it starts the API locally (uvicorn, a free loopback port, rate limit off) over the
index in settings' DATA_DIR (run `python -m ingest` first, or pass --ingest to build one in a
temporary folder), then prints throughput, latency p50/p95/p99 and the error count.

    .venv/bin/python bench/load.py                       # 50 clients, 500 POST /v1/ask
    .venv/bin/python bench/load.py --endpoint stream --clients 20 --requests 200
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --key KEY
    .venv/bin/python bench/load.py --replicas 2   # `chroma run` + 2 APIs, requests alternated

With --replicas N the bench starts a Chroma server, ingests corpus/ into it and starts N API
processes on it (each with its own empty DATA_DIR, one shared STATE_URL), then sends request i
to replica i mod N, as a round-robin load balancer would.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What is a place-based partnership?",
    "Who should lead a place-based partnership?",
    "What functions might a place-based partnership carry out?",
    "How should the footprint of a place be decided?",
    "What are the principles for place based partnerships in Sandwell?",
    "What does the Place Partnership Lead role involve in Barking and Dagenham?",
    "How will the integrated care board delegate to places in Buckinghamshire?",
    "What governance arrangements can place-based partnerships use?",
    "What is the role of health and wellbeing boards in integrated care systems?",
    "What will the weather be in Paris tomorrow?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path | None, log_path: Path,
                 extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RATE_LIMIT_PER_MINUTE": "0", "ALLOW_ANONYMOUS": "true",
           **(extra_env or {})}
    if data_dir is not None:
        env["DATA_DIR"] = str(data_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        cwd=REPO, env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited at start:\n{log_path.read_text()}")
        try:
            ready = httpx.get(f"{base}/readyz", timeout=2)
            if ready.status_code == 200:
                return process, base
            if ready.status_code == 503 and "building" not in ready.text:
                process.terminate()
                sys.exit(f"the index is not ready: {ready.json()['error']['message']}\n"
                         "run `python -m ingest` first, or pass --ingest")
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.terminate()
    sys.exit("the server did not start in 180 s")


def request_for(endpoint: str, i: int) -> tuple[str, str, dict | None]:
    question = QUESTIONS[i % len(QUESTIONS)]
    if endpoint == "mix":
        endpoint = ("ask", "search", "stream", "documents")[i % 4]
    if endpoint == "ask":
        return "POST", "/v1/ask", {"question": question}
    if endpoint == "stream":
        return "POST", "/v1/ask/stream", {"question": question}
    if endpoint == "search":
        return "POST", "/v1/search", {"query": question, "top_k": 8}
    return "GET", "/v1/documents", None


def start_chroma(folder: Path) -> tuple[subprocess.Popen, int]:
    """`chroma run` on a free loopback port, waited for through its heartbeat."""
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path",
                                str(folder / "chroma"), "--host", "127.0.0.1", "--port",
                                str(port)], stdout=open(folder / "chroma.log", "wb"),
                               stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    sys.exit("chroma run did not start")


async def run_load(bases: list[str], key: str | None, endpoint: str, clients: int,
                   requests: int) -> dict:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    counter = iter(range(requests))

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=120) as client:
        async def worker() -> None:
            for i in counter:
                method, path, body = request_for(endpoint, i)
                started = time.perf_counter()
                try:
                    # reading the whole body times a stream to its final event
                    response = await client.request(method, bases[i % len(bases)] + path,
                                                    json=body)
                    ok = response.status_code < 400 and (
                        path != "/v1/ask/stream" or "event: final" in response.text)
                    statuses[str(response.status_code) if ok else f"{response.status_code}!"] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started

    errors = sum(n for status, n in statuses.items() if not status.isdigit())
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 \
        else latencies * 99
    return {"requests": requests, "clients": clients, "endpoint": endpoint, "seconds": elapsed,
            "replicas": len(bases),
            "throughput": requests / elapsed, "p50": q[49], "p95": q[94], "p99": q[98],
            "errors": errors, "statuses": dict(statuses)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--requests", type=int, default=500, help="requests in all (500)")
    parser.add_argument("--endpoint", choices=["ask", "stream", "search", "documents", "mix"],
                        default="ask", help="what to send (ask)")
    parser.add_argument("--url", help="an already running API; default: start one locally")
    parser.add_argument("--key", help="API key to send as Bearer")
    parser.add_argument("--data", type=Path, help="DATA_DIR for the local server")
    parser.add_argument("--ingest", action="store_true",
                        help="ingest corpus/ into a temporary DATA_DIR first")
    parser.add_argument("--replicas", type=int, default=1,
                        help="API processes behind one Chroma server (1: embedded, as make run)")
    args = parser.parse_args(argv)
    if args.replicas > 1:
        return replicated(args)

    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        process = None
        base = args.url
        data = args.data.resolve() if args.data else None
        if base is None:
            if args.ingest:
                data = Path(tmp) / "data"
                subprocess.run([sys.executable, "-m", "ingest", "--quiet", "--data", str(data)],
                               cwd=REPO, check=True)
            process, base = start_server(data, Path(tmp) / "server.log")
        try:
            result = measure([base], args)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=15)
    return show(result)


def measure(bases: list[str], args: argparse.Namespace) -> dict:
    asyncio.run(run_load(bases, args.key, args.endpoint, 1, min(5, args.requests)))  # warm up
    return asyncio.run(run_load(bases, args.key, args.endpoint, args.clients, args.requests))


def replicated(args: argparse.Namespace) -> int:
    """A Chroma server, one ingest into it, N API processes on it; requests alternated."""
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        folder = Path(tmp)
        chroma, port = start_chroma(folder)
        shared = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port),
                  "STATE_URL": str(folder / "state.sqlite")}
        servers: list[subprocess.Popen] = []
        try:
            subprocess.run([sys.executable, "-m", "ingest", "--quiet", "--data",
                            str(folder / "ingest")], cwd=REPO, check=True,
                           env={**os.environ, **shared})
            bases = []
            for n in range(args.replicas):
                process, base = start_server(folder / f"replica{n}", folder / f"api{n}.log",
                                             shared)
                servers.append(process)
                bases.append(base)
            result = measure(bases, args)
        finally:
            for process in [*servers, chroma]:
                process.terminate()
                process.wait(timeout=15)
    return show(result)


def show(result: dict) -> int:
    print(f"{result['endpoint']}: {result['requests']} requests, {result['clients']} clients, "
          f"{result['replicas']} replica(s), {result['seconds']:.1f} s")
    print(f"throughput {result['throughput']:.1f} req/s")
    print(f"latency p50 {result['p50'] * 1000:.0f} ms  p95 {result['p95'] * 1000:.0f} ms  "
          f"p99 {result['p99'] * 1000:.0f} ms")
    print(f"errors {result['errors']}  statuses {result['statuses']}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
