#!/usr/bin/env python3
"""Checks that sheriff's per-indicator first seen, last seen and closed online runs equal the
ind and run tables of shared/bench/py_ingest_baseline.py over the same snapshots.
usage: ingest_compare.py BASELINE_DB SHERIFF_BINARY SHERIFF_DB SNAPSHOT...
The baseline lowercases whole lines; sheriff lowercases hosts but keeps URL paths as given, so
each baseline value is mapped back to the line(s) it came from; the few values where two
differently cased URLs fold together in the baseline are counted and skipped."""
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone


def ts(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


base_db, sheriff, sheriff_db, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
orig = {}
for f in files:
    for line in open(f, encoding='utf-8', errors='replace'):
        line = line.strip()
        if line and not line.startswith('!'):
            n = len(re.split('[/?#]', line, maxsplit=1)[0])
            orig.setdefault(line.lower(), set()).add(line[:n].lower() + line[n:])

p = sqlite3.connect(base_db)
ind = {v: (ts(a), ts(b)) for v, a, b in p.execute('select value, first_seen, last_seen from ind')}
runs = {}
for v, a, b in p.execute('select value, start, end from run join ind on ind.id = run.ind'):
    runs.setdefault(v, []).append([ts(a), ts(b)])

keys, folded = {}, 0
for v in ind:
    k = orig.get(v, set())
    if len(k) == 1:
        keys[v] = next(iter(k))
    else:
        folded += 1
out = subprocess.run([sheriff, 'lookup', '--db', sheriff_db, '--json', '-'],
                     input='\n'.join(keys.values()) + '\n', capture_output=True, text=True, check=False)
import json
got = {}
for line in out.stdout.splitlines():
    o = json.loads(line)
    got[o['input']] = o['sources'][0] if o.get('sources') else None

bad = hosts = 0
for v, k in keys.items():
    s = got.get(k)
    want = (ind[v][0], ind[v][1], sorted(runs.get(v, [])))
    have = None if s is None else (s['first_seen'], s['last_seen'],
                                  sorted([r['start'], r['end']] for r in s['runs'] if r['end']))
    hosts += '/' not in v
    if have != want:
        if bad < 10:
            print('differs:', k, '\n  sheriff:', have, '\n  baseline:', want)
        bad += 1
print(f'compared {len(keys)} indicators ({hosts} hosts, {len(keys) - hosts} URLs) and '
      f'{sum(len(r) for r in runs.values())} closed runs with the baseline: {bad} differ; '
      f'{folded} baseline values fold differently cased URLs together and were skipped')
sys.exit(1 if bad else 0)
