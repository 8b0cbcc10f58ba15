"""A real Raft store for workload D's baseline: three etcd members on
loopback (Debian's etcd-server), started and stopped by the workload, written
to through etcd's own HTTP/JSON gateway (``/v3/kv/put``) on one kept-alive
connection to the leader, its peer traffic read from its Prometheus metrics."""

import base64
import http.client
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

MEMBERS = 3
START_TIMEOUT = 60.0
PEER_BYTES = re.compile(r"^etcd_network_peer_sent_bytes_total\{[^}]*\} (\S+)$", re.M)


def ensure_etcd():
    """The etcd binary, installing Debian's etcd-server when it is missing."""
    from tb.run import ensure_debian
    ensure_debian("etcd-server", lambda: shutil.which("etcd"), "the etcd baseline of make workloads")
    return shutil.which("etcd")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class EtcdCluster:
    """``with EtcdCluster() as etcd: etcd.put(key, value)``."""

    def __init__(self, members=MEMBERS):
        self.members = members

    def __enter__(self):
        etcd = ensure_etcd()
        self.dir = Path(tempfile.mkdtemp(prefix="vtpu-etcd-"))
        ports = free_ports(2 * self.members)
        self.clients = [f"http://127.0.0.1:{p}" for p in ports[:self.members]]
        peers = [f"http://127.0.0.1:{p}" for p in ports[self.members:]]
        cluster = ",".join(f"m{i}={peer}" for i, peer in enumerate(peers))
        self.processes = []
        for i in range(self.members):
            log = open(self.dir / f"m{i}.log", "w")
            self.processes.append(subprocess.Popen(
                [etcd, "--name", f"m{i}", "--data-dir", str(self.dir / f"m{i}"),
                 "--listen-client-urls", self.clients[i], "--advertise-client-urls", self.clients[i],
                 "--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
                 "--initial-cluster", cluster, "--initial-cluster-state", "new",
                 "--initial-cluster-token", "vtpu-workloads"],
                stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + START_TIMEOUT
        while not all(self._healthy(c) for c in self.clients):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                said = (self.dir / "m0.log").read_text()[-1500:]
                self.__exit__()
                raise RuntimeError(f"etcd: the cluster did not become healthy; member m0 said:\n{said}")
            time.sleep(0.2)
        leader = next(url for url in self.clients if self._is_leader(url))
        self._connection = http.client.HTTPConnection(leader.removeprefix("http://"), timeout=10)
        return self

    @staticmethod
    def _is_leader(url):
        request = urllib.request.Request(url + "/v3/maintenance/status", data=b"{}",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as r:
            status = json.loads(r.read())
        return status["header"]["member_id"] == status["leader"]

    @staticmethod
    def _healthy(url):
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                return json.loads(r.read()).get("health") == "true"
        except OSError:
            return False

    def put(self, key, value):
        """One write through Raft, to the leader (answered once a majority has it)."""
        body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                           "value": base64.b64encode(value.encode()).decode()})
        self._connection.request("POST", "/v3/kv/put", body,
                                 {"Content-Type": "application/json"})
        response = self._connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"etcd: put {key} answered {response.status}: {answer[:200]!r}")

    def peer_bytes(self):
        """Bytes the members have sent each other so far."""
        total = 0
        for url in self.clients:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                total += sum(float(x) for x in PEER_BYTES.findall(r.read().decode()))
        return int(total)

    def __exit__(self, *exc):
        if getattr(self, "_connection", None) is not None:
            self._connection.close()
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False
