#!/usr/bin/env python3
"""Independent computation of per-indicator first seen, last seen and online runs over a
series of full-list snapshots ('! Updated:' headers), for checking sheriff's ingest.

usage: history_ref.py SNAPSHOT... > ref.jsonl
Each output line: {"value", "first_seen", "last_seen", "runs": [[start, end-or-null], ...]}.
The key is the line with its host part (up to '/', '?' or '#') lowercased (sheriff's canonical form for these lists);
a run ends at the first snapshot that lacks the value; runs open at the end have end null."""
import email.utils
import json
import re
import sys
from datetime import datetime, timezone


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def key(line):
    n = len(re.split('[/?#]', line, maxsplit=1)[0])
    return line[:n].lower() + line[n:]


snaps = []
for path in sys.argv[1:]:
    t, vals = None, set()
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('!'):
                if line.lower().startswith('! updated:'):
                    d = line.split(':', 1)[1].strip().replace(' UTC', ' +0000')
                    t = int(email.utils.parsedate_to_datetime(d).timestamp())
            elif line:
                vals.add(key(line))
    snaps.append((t, vals))
snaps.sort(key=lambda s: s[0])

first, last, runs, open_since = {}, {}, {}, {}
for t, vals in snaps:
    for v in vals:
        first.setdefault(v, t)
        last[v] = t
        if v not in open_since:
            open_since[v] = t
    for v in [v for v in open_since if v not in vals]:
        runs.setdefault(v, []).append([open_since.pop(v), t])
for v, s in open_since.items():
    runs.setdefault(v, []).append([s, None])

for v in sorted(first):
    print(json.dumps({'value': v, 'first_seen': rfc3339(first[v]), 'last_seen': rfc3339(last[v]),
                      'runs': [[rfc3339(a), rfc3339(b) if b else None]
                               for a, b in sorted(runs[v])]}))
