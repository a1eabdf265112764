#!/usr/bin/python3
"""Run every case of a cases.json through the exc-c14n oracle in one process.

Usage:
    /usr/bin/python3 tests/oracle/c14n_batch.py CASES_JSON DIR OUTDIR [--backend lxml|nodeset]

CASES_JSON is a JSON array of
    {"file": "NN-name.xml", "id": null | "SomeId",
     "with_comments": bool, "inclusive_prefixes": ["p", "#default", ...]}
and DIR is the directory the "file" names are relative to.

For the case at (0-based) array index N it writes OUTDIR/N.out with the raw
canonical bytes. If the oracle fails for a case it writes OUTDIR/N.err
(first line: the oracle exit code, second line: the message) instead, carries
on, and the script exits 1 at the end. OUTDIR is created if missing; stale
N.out / N.err files of earlier runs are removed for the indices written.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import c14n  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("cases")
    ap.add_argument("dir")
    ap.add_argument("outdir")
    ap.add_argument("--backend", choices=sorted(c14n.BACKENDS), default="lxml")
    args = ap.parse_args(argv)

    with open(args.cases, "rb") as f:
        cases = json.load(f)
    os.makedirs(args.outdir, exist_ok=True)
    failures = 0
    for i, case in enumerate(cases):
        out_path = os.path.join(args.outdir, "%d.out" % i)
        err_path = os.path.join(args.outdir, "%d.err" % i)
        for p in (out_path, err_path):
            if os.path.exists(p):
                os.remove(p)
        try:
            data = c14n.canonicalize(
                os.path.join(args.dir, case["file"]),
                case.get("id"),
                bool(case.get("with_comments", False)),
                case.get("inclusive_prefixes") or [],
                args.backend)
        except c14n.OracleError as e:
            failures += 1
            with open(err_path, "w", encoding="utf-8") as f:
                f.write("%d\n%s\n" % (e.code, e.message))
            sys.stderr.write("case %d (%s): %s\n" % (i, case["file"], e.message))
            continue
        with open(out_path, "wb") as f:
            f.write(data)
    sys.stderr.write("c14n_batch: %d cases, %d failed\n" % (len(cases), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
