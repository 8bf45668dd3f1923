"""Redis high availability on loopback (SPEC 6): a master, replicas and
sentinels, each a real redis-server / redis-sentinel on a free port with
its own files in a private temp dir, stopped by pid.

Environment: REDIS_SERVER (as harness.py); REDIS_SENTINEL names the
sentinel binary (default: redis-sentinel on PATH).
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from lib.harness import (HarnessError, _RespReader, _log_name, _resp_encode,
                         _sigterm_and_wait, free_port, redis_ping, redis_server_path)

MASTER_NAME = "pushgate"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def redis_sentinel_path():
    return os.environ.get("REDIS_SENTINEL") or shutil.which("redis-sentinel") or "redis-sentinel"


def resp_cmd(port, *args, timeout=5.0):
    """One command on a fresh connection to 127.0.0.1:port, reply decoded."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(_resp_encode(args))
        return _RespReader(s).read()


class _Proc:
    """One redis-server or redis-sentinel process."""

    def __init__(self, argv, label, what):
        self.port = None
        self.argv = argv
        self.log_path = _log_name(label, what)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def wait_up(self, port, timeout=10.0):
        self.port = port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if redis_ping(port):
                return
            time.sleep(0.02)
        raise HarnessError("%s did not answer on port %d; see %s"
                           % (self.argv[0], port, self.log_path))

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL by pid."""
        if self.running():
            self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.running():
            _sigterm_and_wait(self.proc, 5.0)
        self._log.close()


class HaRedis:
    """A master, n_replicas replicas and n_sentinels sentinels (quorum 2)
    watching it as MASTER_NAME. .sentinels_arg is the --redis-sentinels
    value."""

    def __init__(self, n_replicas=2, n_sentinels=3, label="ha"):
        self.label = label
        self.dir = tempfile.mkdtemp(prefix="pushgate-ha-")
        self.redis = []          # _Proc, the first one started as master
        self.sentinels = []
        try:
            master = self._redis()
            for _ in range(n_replicas):
                self._redis(master.port)
            for i in range(n_sentinels):
                self._sentinel(master.port, i)
            self.wait_settled(n_replicas, n_sentinels)
        except BaseException:
            self.close()
            raise

    def _redis(self, master_port=None):
        port = free_port()
        argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--dbfilename", "dump-%d.rdb" % port, "--daemonize", "no"]
        if master_port:
            argv += ["--replicaof", "127.0.0.1", str(master_port)]
        p = _Proc(argv, "%s.%d" % (self.label, port), "redis")
        self.redis.append(p)
        p.wait_up(port)
        return p

    def _sentinel(self, master_port, i):
        port = free_port()
        conf = os.path.join(self.dir, "sentinel-%d.conf" % i)
        with open(conf, "w") as f:  # redis-sentinel rewrites it: a private copy
            f.write("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 2\n"
                    % (port, self.dir, MASTER_NAME, master_port, MASTER_NAME, DOWN_AFTER_MS,
                       MASTER_NAME, FAILOVER_TIMEOUT_MS, MASTER_NAME))
        p = _Proc([redis_sentinel_path(), conf], "%s.sentinel%d" % (self.label, i), "sentinel")
        self.sentinels.append(p)
        p.wait_up(port)
        return p

    @property
    def sentinels_arg(self):
        return ",".join("127.0.0.1:%d" % s.port for s in self.sentinels)

    def master_info(self, sentinel):
        flat = resp_cmd(sentinel.port, "SENTINEL", "MASTER", MASTER_NAME)
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def wait_settled(self, n_replicas, n_sentinels, timeout=30.0):
        """Until every live sentinel sees the replicas and the others, and
        the replicas are in sync: then a failover can happen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ok = all(int(info["num-slaves"]) >= n_replicas
                         and int(info["num-other-sentinels"]) >= n_sentinels - 1
                         and "o_down" not in info["flags"] and "s_down" not in info["flags"]
                         and "failover" not in info["flags"]
                         for info in (self.master_info(s) for s in self.sentinels
                                      if s.running()))
                if ok and self.replicas_in_sync(n_replicas):
                    return
            except (OSError, KeyError, ValueError, RuntimeError, HarnessError):
                pass
            time.sleep(0.1)
        raise HarnessError("the sentinels did not settle within %.0f s" % timeout)

    def replicas_in_sync(self, n):
        info = resp_cmd(self.master_port(), "INFO", "replication").decode()
        return sum(1 for line in info.splitlines()
                   if line.startswith("slave") and "state=online" in line) >= n

    def master_port(self):
        for s in self.sentinels:
            if s.running():
                try:
                    return int(resp_cmd(s.port, "SENTINEL", "get-master-addr-by-name",
                                        MASTER_NAME)[1])
                except (OSError, RuntimeError, HarnessError, TypeError):
                    continue
        raise HarnessError("no sentinel answers")

    def master(self):
        port = self.master_port()
        return next(p for p in self.redis if p.port == port)

    def kill_master(self):
        """kill -9 of the master; returns its port."""
        m = self.master()
        m.kill()
        return m.port

    def restart(self, proc):
        """Starts a killed redis-server again, with the same arguments."""
        again = _Proc(proc.argv, "%s.%d" % (self.label, proc.port), "redis")
        self.redis[self.redis.index(proc)] = again
        again.wait_up(proc.port)
        return again

    def failover(self, sentinel=0):
        """SENTINEL FAILOVER on one sentinel (a planned switch)."""
        return resp_cmd(self.sentinels[sentinel].port, "SENTINEL", "FAILOVER", MASTER_NAME)

    def watch_switch(self):
        """Threads that record the monotonic time of the first
        +switch-master any sentinel says: returns a dict with key 't' once
        heard."""
        seen = {}
        lock = threading.Lock()
        for sentinel in self.sentinels:
            s = socket.create_connection(("127.0.0.1", sentinel.port), timeout=30.0)
            s.sendall(_resp_encode(("SUBSCRIBE", "+switch-master")))
            r = _RespReader(s)
            r.read()  # the subscribe confirmation

            def run(s=s, r=r):
                try:
                    r.read()
                    with lock:
                        seen.setdefault("t", time.monotonic())
                except (OSError, RuntimeError):
                    pass
                finally:
                    s.close()
            threading.Thread(target=run, daemon=True, name="watch-switch").start()
        return seen

    def close(self):
        for p in self.sentinels + self.redis:
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
