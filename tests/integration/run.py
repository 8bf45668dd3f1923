#!/usr/bin/env python3
"""Runs pushgate's integration tests.

    PUSHGATE_BUILD=<build dir> python3 tests/integration/run.py [-j N] [PATTERN...]

Each tests/integration/test_*.py module runs in its own process (with its
own Redis and brokerd), several at a time, so the slow timeout tests overlap
with the rest. PATTERNs select modules or tests by substring of their id
(e.g. "test_pub" or "PubDedupTest"). Prints each module's unittest output
(verbosity 2) as it finishes, then exactly one summary line
"N passed, N failed"; exits 1 on any failure or error, 2 on a setup problem.
Skipped or unrun tests count as failed.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

# Slow modules first so they overlap with the rest.
SLOW_FIRST = ["test_identify_timeout", "test_redis_restart", "test_heartbeat",
              "test_redelivery", "test_abuse", "test_offline"]
MODULE_TIMEOUT = 300


def discover_modules():
    names = sorted(f[:-3] for f in os.listdir(HERE)
                   if f.startswith("test_") and f.endswith(".py"))
    rank = {n: i for i, n in enumerate(SLOW_FIRST)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def filter_suite(suite, patterns):
    if not patterns:
        return suite
    out = unittest.TestSuite()
    for t in iter_tests(suite):
        if any(p in t.id() for p in patterns):
            out.addTest(t)
    return out


class CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test.id())


def run_child(module, patterns, result_file):
    """In the child process: run one module, write counts as JSON."""
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    total, passed, failed_ids = 0, 0, []
    try:
        suite = filter_suite(loader.loadTestsFromName(module), patterns)
        ids = [t.id() for t in iter_tests(suite)]
        total = len(ids)
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                         resultclass=CountingResult)
        result = runner.run(suite)
        passed = len(set(result.passed) & set(ids))
        failed_ids = sorted(set(ids) - set(result.passed))
        for t, _ in result.errors + result.failures:
            # a failed sub-test counts once, as its test
            t = getattr(t, "test_case", t)
            tid = t.id() if hasattr(t, "id") else str(t)
            if tid not in ids and tid not in failed_ids:
                # setUpClass / tearDownClass errors (e.g. brokerd's exit
                # code on SIGTERM) fail the run even if every test passed
                failed_ids.append(tid)
    except Exception as e:  # import errors and the like
        print("ERROR loading %s: %r" % (module, e))
        failed_ids = [module]
    with open(result_file, "w") as f:
        json.dump({"total": total, "passed": passed, "failed_ids": failed_ids}, f)


def run_module(module, patterns, env):
    fd, result_file = tempfile.mkstemp(prefix="pushgate-it-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", module,
           "--result-file", result_file] + patterns
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=env, cwd=HERE, timeout=MODULE_TIMEOUT)
        output = proc.stdout.decode("utf-8", "replace")
        try:
            with open(result_file) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"total": 0, "passed": 0,
                   "failed_ids": ["%s (child exited %s without a result)"
                                  % (module, proc.returncode)]}
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"").decode("utf-8", "replace")
        output += "\nTIMEOUT: %s did not finish within %d s\n" % (module, MODULE_TIMEOUT)
        res = {"total": 0, "passed": 0, "failed_ids": ["%s (timeout)" % module]}
    finally:
        try:
            os.unlink(result_file)
        except OSError:
            pass
    res["seconds"] = time.monotonic() - t0
    return module, output, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("PUSHGATE_IT_JOBS", "8")),
                    help="modules run at once (default 8)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    ap.add_argument("patterns", nargs="*", help="substrings of test ids to run")
    args = ap.parse_args()

    if args.child:
        run_child(args.child, args.patterns, args.result_file)
        return 0

    build = os.environ.get("PUSHGATE_BUILD")
    if not build:
        print("run.py: PUSHGATE_BUILD is not set; point it at the build directory "
              "(the one holding brokerd/brokerd)", file=sys.stderr)
        return 2
    brokerd = os.path.join(build, "brokerd", "brokerd")
    if not os.access(brokerd, os.X_OK):
        print("run.py: no executable brokerd at %s" % brokerd, file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PUSHGATE_BUILD"] = os.path.abspath(build)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")

    modules = discover_modules()
    if args.patterns:
        # a pattern that starts with a module name picks that module; other
        # patterns (class or test names) are looked for in every module
        named = [m for m in modules if any(p.split(".")[0] == m for p in args.patterns)]
        if named:
            modules = named

    t0 = time.monotonic()
    total = passed = 0
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_module, m, args.patterns, env) for m in modules]
        for fut in concurrent.futures.as_completed(futures):
            module, output, res = fut.result()
            print("=" * 70)
            print("%s (%.1f s)" % (module, res["seconds"]))
            print("=" * 70)
            print(output.rstrip())
            sys.stdout.flush()
            total += res["total"]
            passed += res["passed"]
            failed.extend(res["failed_ids"])

    # Failures are tests (or class fixtures) that did not pass; a test
    # counted in total but not passed is in failed_ids already.
    n_failed = len(failed)
    print("-" * 70)
    print("%d modules in %.1f s" % (len(modules), time.monotonic() - t0))
    for f in sorted(failed):
        print("FAILED: %s" % f)
    print("%d passed, %d failed" % (passed, n_failed))
    return 0 if n_failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
