"""HTTP load generation on loopback: wrk with a Lua POST script when installed, else a bounded asyncio client."""

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one load run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str
    requests: int  # answered in the run, errors among them


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    url: str, body: bytes, *, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> LoadResult:
    """POST `body` (with any extra `headers`) to `url` from `connections` keep-alive connections for `seconds`."""
    host = urlsplit(url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"load tests only target this machine, not {host}")
    if shutil.which("wrk"):
        return _wrk(url, body, connections=connections, seconds=seconds, headers=headers or {})
    return asyncio.run(_asyncio_load(url, body, connections=connections, seconds=seconds, headers=headers or {}))


def _wrk(url: str, body: bytes, *, connections: int, seconds: float, headers: dict[str, str]) -> LoadResult:
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / "body.json"
        payload.write_bytes(body)
        script = Path(folder) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            + "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in headers.items())
            + f'local f = io.open("{payload}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
        )
        output = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script), url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors:.*?):\s*(\d+)", output))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return LoadResult(rps, _wrk_latency(output, "50%"), _wrk_latency(output, "99%"), errors, "wrk", requests)


def _wrk_latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _asyncio_load(
    url: str, body: bytes, *, connections: int, seconds: float, headers: dict[str, str]
) -> LoadResult:
    parts = urlsplit(url)
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if b" 200 " not in status:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return LoadResult(
        len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000, errors, "asyncio", len(latencies)
    )
