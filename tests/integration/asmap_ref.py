#!/usr/bin/env python3
"""Plain range search over ip-location-db CSV rows, the reference for sheriff's network
lookups. usage:
  asmap_ref.py gen CSV[.gz]... N SEED > addrs.jsonl   random addresses + expected asn/org
  asmap_ref.py check addrs.jsonl lookup.jsonl           compares sheriff lookup --json output
Half of the addresses fall inside random rows, half anywhere in the address space. Rows are
inclusive ranges; later rows never overlap earlier ones in these files, so the first match is
the answer. Addresses sheriff calls special-purpose must have no network and must not be
globally routable by Python's ipaddress (which follows the same IANA registries)."""
import bisect
import csv
import gzip
import ipaddress
import json
import random
import sys


def load(paths):
    rows = {4: [], 6: []}
    for p in paths:
        with (gzip.open(p, 'rt', encoding='utf-8') if p.endswith('.gz') else open(p, encoding='utf-8')) as f:
            for r in csv.reader(f):
                a, b = ipaddress.ip_address(r[0]), ipaddress.ip_address(r[1])
                rows[a.version].append((int(a), int(b), int(r[2]), r[3].strip()))  # sheriff trims org names
    for v in rows:
        rows[v].sort()
    return rows


def search(rows, ip):
    tab = rows[ip.version]
    i = bisect.bisect_right(tab, (int(ip), 1 << 130)) - 1
    if i >= 0 and tab[i][0] <= int(ip) <= tab[i][1]:
        return tab[i][2], tab[i][3]
    return None, None


def gen(paths, n, seed):
    rows = load(paths)
    rnd = random.Random(seed)
    for k in range(n):
        v = 4 if k % 2 == 0 else 6
        if not rows[v]:
            v = 10 - v
        if (k // 2) % 2 == 0:
            a, b, _, _ = rnd.choice(rows[v])
            x = rnd.randint(a, b)
        elif v == 4:
            x = rnd.getrandbits(32)
        else:  # anywhere in 2000::/3, where the v6 table lives
            x = (1 << 125) | rnd.getrandbits(125)
        ip = ipaddress.ip_address(x)
        asn, org = search(rows, ip)
        print(json.dumps({'ip': str(ip), 'asn': asn if asn else None, 'org': org if asn else None,
                          'global': ip.is_global and not ip.is_multicast}))


def check(addrs, lookups):
    want = [json.loads(l) for l in open(addrs)]
    got = {}
    for l in open(lookups):
        o = json.loads(l)
        got[o['input']] = o
    bad = special = 0
    for w in want:
        o = got.get(w['ip'])
        if o is None:
            print('missing', w['ip'])
            bad += 1
            continue
        if o.get('special'):
            special += 1
            if o['asn'] is not None or w['global']:
                print('special mismatch', w['ip'], o.get('special'), o['asn'], w)
                bad += 1
            continue
        if (o['asn'], o['as_org']) != (w['asn'], w['org']):
            if bad < 20:
                print('differs', w['ip'], 'sheriff:', o['asn'], o['as_org'], 'ref:', w['asn'], w['org'])
            bad += 1
    print(f'{len(want)} addresses compared ({special} special-purpose), {bad} differ')
    return bad == 0


if __name__ == '__main__':
    if sys.argv[1] == 'gen':
        gen(sys.argv[2:-2], int(sys.argv[-2]), int(sys.argv[-1]))
    else:
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
