#!/usr/bin/env python3
"""Compares `sheriff lookup --json` output with history_ref.py output for one source.
usage: compare_history.py REF.jsonl LOOKUP.jsonl SOURCE   (exit 1 and a diff on mismatch)"""
import json
import sys

ref = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    ref[r['value']] = r
got = {}
for line in open(sys.argv[2]):
    o = json.loads(line)
    src = [s for s in o.get('sources', []) if s['source'] == sys.argv[3]]
    got[o['input']] = (o, src[0] if src else None)

bad = 0
for v, r in ref.items():
    o, s = got.get(v, (None, None))
    if s is None:
        print(f'missing: {v}')
        bad += 1
        continue
    have = {'first_seen': s['first_seen'], 'last_seen': s['last_seen'],
            'runs': [[x['start'], x['end']] for x in s['runs']]}
    want = {k: r[k] for k in ('first_seen', 'last_seen', 'runs')}
    if have != want or o['online'] != (r['runs'][-1][1] is None):
        if bad < 20:
            print(f'differs: {v}\n  sheriff: {have} online={o["online"]}\n  ref:     {want}')
        bad += 1
runs = sum(len(r['runs']) for r in ref.values())
print(f'{len(ref)} indicators, {runs} runs compared, {bad} differ')
sys.exit(1 if bad else 0)
