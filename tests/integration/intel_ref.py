#!/usr/bin/env python3
"""Independent computation of sheriff's network intelligence figures, for checking
`sheriff networks --json` and `sheriff lifetimes --json` (definitions: docs/method.md).

usage:
  intel_ref.py ref ASN_CSV_GZ COUNTRY_CSV_GZ HOSTING_DIR SNAPSHOT... > ref.json
  intel_ref.py check-lifetimes REF.json LIFETIMES.jsonl
  intel_ref.py check-networks REF.json NETWORKS.jsonl [asn|country]

The reference reads the snapshots itself (one full-list source, '! Updated:' headers), builds
the runs, the observations (midpoint of the closing interval, gaps over twice the median
interval censored, entries of the first snapshot not followed), a plain Kaplan-Meier with
Greenwood variance and log-log bands, and per-ASN figures from a range search over the
ip-location-db CSVs (ASN and country) and the hosting providers' JSON ranges. Only the standard library."""
import bisect
import email.utils
import gzip
import ipaddress
import json
import math
import os
import re
import sys

Z = 1.959963984540054
GRID = [1, 2, 3, 6, 12, 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720, 1080, 1440, 2160,
        4320, 8760]


def key(line):
    n = len(re.split('[/?#]', line, maxsplit=1)[0])
    return line[:n].lower() + line[n:]


def host_ip(value):
    """The IPv4 address a host or schemeless URL is on, or None."""
    host = re.split('[/?#]', value, maxsplit=1)[0]
    host = host.rsplit(':', 1)[0] if host.count(':') == 1 else host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return ip if ip.version == 4 else None


def read_snapshots(paths):
    snaps = []
    for path in paths:
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
    return snaps


def observations(snaps):
    """Per value: first seen, online now, and (when followed) lifetime / takedown in hours with
    their event flags, one-day status, observed takedown time."""
    T = [t for t, _ in snaps]
    diffs = sorted(b - a for a, b in zip(T, T[1:]))
    gap = 2 * diffs[(len(diffs) - 1) // 2] if diffs else float('inf')
    runs, open_since, first = {}, {}, {}
    for t, vals in snaps:
        for v in vals:
            first.setdefault(v, t)
            open_since.setdefault(v, t)
        for v in [v for v in open_since if v not in vals]:
            runs.setdefault(v, []).append((open_since.pop(v), t))
    for v, s in open_since.items():
        runs.setdefault(v, []).append((s, None))
    obs = {}
    for v, rs in runs.items():
        rs.sort()
        o = {'first_seen': first[v], 'active': rs[-1][1] is None, 'subject': False}
        obs[v] = o
        if first[v] == T[0]:
            continue  # already listed when observation began
        ends, seen = [], 0
        for a, e in rs:
            if e is None:
                ends.append((T[-1], False))
                seen += len(T) - bisect.bisect_left(T, a)
                continue
            k = bisect.bisect_left(T, e)
            seen += k - bisect.bisect_left(T, a)
            prev = T[k - 1]
            if e - prev > gap:
                ends.append((prev, False))
            else:
                ends.append((prev + (e - prev) / 2, True))
        # one source: the runs do not overlap, the first ends first and the last ends last
        life_end, life_ev = ends[-1]
        td_end, td_ev = ends[0]
        life = (life_end - first[v]) / 3600
        o.update(subject=True, life_h=life, life_ev=life_ev,
                 td_h=(td_end - first[v]) / 3600, td_ev=td_ev,
                 td_at=td_end if td_ev else None)
        o['one_day_known'] = life_ev or life >= 24
        o['one_day'] = life_ev and (life < 24 or seen == 1)
    return obs


def km(pairs):
    """pairs: (time, event). Returns the step points [(t, s, lo, hi)], n, events."""
    pairs = sorted(pairs)
    n = len(pairs)
    ts = [u for u, _ in pairs]
    deaths = {}
    for u, e in pairs:
        if e:
            deaths[u] = deaths.get(u, 0) + 1
    s, gw, pts = 1.0, 0.0, []
    for t in sorted(deaths):
        at_risk = n - bisect.bisect_left(ts, t)
        d = deaths[t]
        s *= 1 - d / at_risk
        if at_risk > d:
            gw += d / (at_risk * (at_risk - d))
        else:
            s = 0.0
        if s <= 0:
            lo = hi = 0.0
        elif s >= 1 or gw <= 0:
            lo = hi = s
        else:
            se = math.sqrt(gw) / abs(math.log(s))
            lo, hi = s ** math.exp(Z * se), s ** math.exp(-Z * se)
        pts.append((t, s, lo, hi))
    return pts, n, sum(1 for _, e in pairs if e)


def median(pts):
    def first(i):
        return next((p[0] for p in pts if p[i] <= 0.5 + 1e-12), None)
    return first(1), first(2), first(3)


def at(pts, t):
    s, lo, hi = 1.0, 1.0, 1.0
    for p in pts:
        if p[0] <= t:
            _, s, lo, hi = p
    return s, lo, hi


def curve(pairs):
    pts, n, ev = km(pairs)
    m, lo, hi = median(pts)
    grid = []
    ts = sorted(u for u, _ in pairs)
    for t in GRID if n else []:
        s, l, h = at(pts, t)
        grid.append({'t_h': t, 'survival': s, 'lower': l, 'upper': h,
                     'at_risk': len(ts) - bisect.bisect_left(ts, t)})
    return {'n': n, 'events': ev, 'median_h': m, 'median_ci_h': [lo, hi], 'points': grid}


def summary(obs):
    sub = [o for o in obs if o['subject']]
    known = sum(1 for o in sub if o['one_day_known'])
    one = sum(1 for o in sub if o['one_day'])
    return {
        'indicators': len(obs),
        'subjects': len(sub),
        'one_day': one,
        'one_day_known': known,
        'one_day_share': one / known if known else None,
        'lifetime': curve([(o['life_h'], o['life_ev']) for o in sub]),
        'takedown': curve([(o['td_h'], o['td_ev']) for o in sub]),
    }


def hosting_ranges(d):
    nets = []
    for name in sorted(os.listdir(d)):
        if not name.endswith('.json.gz'):
            continue
        doc = json.load(gzip.open(os.path.join(d, name), 'rt'))
        stack = [doc]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
            elif isinstance(x, str):
                try:
                    n = ipaddress.ip_network(x.strip(), strict=False)
                except ValueError:
                    continue
                if n.version == 4:
                    nets.append((int(n.network_address), int(n.broadcast_address)))
    merged = []
    for lo, hi in sorted(nets):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def read_ranges(path, with_asn):
    rows = []
    for line in gzip.open(path, 'rt', encoding='utf-8'):
        parts = line.rstrip('\n').split(',', 3 if with_asn else 2)
        lo, hi = int(ipaddress.ip_address(parts[0])), int(ipaddress.ip_address(parts[1]))
        rows.append((lo, hi, int(parts[2]) if with_asn else parts[2]))
    rows.sort()
    return rows, [r[0] for r in rows]


def find(table, ip):
    rows, starts = table
    i = bisect.bisect_right(starts, ip) - 1
    return rows[i][2] if i >= 0 and ip <= rows[i][1] else None


def group(members, space):
    s = summary(members)
    s.update(
        total=len(members),
        active=sum(1 for o in members if o['active']),
        addresses=len({o['ip'] for o in members}),
        in_hosting=sum(1 for o in members if o['hosting']),
        space_v4=space,
        density=len(members) / space * 256,
    )
    # recurrences: arrivals after an earlier member's observed takedown
    rec, min_td = 0, float('inf')
    for o in sorted(members, key=lambda o: o['first_seen']):
        if o['first_seen'] > min_td:
            rec += 1
        if o['subject'] and o['td_at'] is not None:
            min_td = min(min_td, o['td_at'])
    s['recurrences'] = rec
    return s


def ref(argv):
    asn_csv, cc_csv, hdir, paths = argv[0], argv[1], argv[2], argv[3:]
    asns, ccs = read_ranges(asn_csv, True), read_ranges(cc_csv, False)
    space = {'asn': {}, 'country': {}}
    for lo, hi, asn in asns[0]:
        if asn:
            space['asn'][f'AS{asn}'] = space['asn'].get(f'AS{asn}', 0) + hi - lo + 1
    for lo, hi, cc in ccs[0]:
        space['country'][cc] = space['country'].get(cc, 0) + hi - lo + 1
    hosting = hosting_ranges(hdir)
    hstart = [r[0] for r in hosting]
    obs = observations(read_snapshots(paths))
    nets = {'asn': {}, 'country': {}}
    for v, o in obs.items():
        ip = host_ip(v)
        if ip is None or not ip.is_global:
            continue
        o['ip'] = ip
        j = bisect.bisect_right(hstart, int(ip)) - 1
        o['hosting'] = j >= 0 and int(ip) <= hosting[j][1]
        asn = find(asns, int(ip))
        if asn:
            nets['asn'].setdefault(f'AS{asn}', []).append(o)
        cc = find(ccs, int(ip))
        if cc:
            nets['country'].setdefault(cc, []).append(o)
    out = {'all': summary(list(obs.values()))}
    for by in ('asn', 'country'):
        out[by] = {k: group(m, space[by][k]) for k, m in nets[by].items()}
    json.dump(out, sys.stdout)


class Checker:
    def __init__(self):
        self.bad = 0

    def eq(self, what, got, want, tol=0.0):
        ok = (got is None and want is None) or (
            got is not None and want is not None and abs(got - want) <= tol)
        if not ok:
            self.bad += 1
            if self.bad <= 30:
                print(f'differs: {what}: sheriff {got}, reference {want}')

    def curve(self, what, got, want):
        self.eq(f'{what} n', got['n'], want['n'])
        self.eq(f'{what} events', got['events'], want['events'])
        self.eq(f'{what} median', got['median_h'], want['median_h'], 0.0006)
        self.eq(f'{what} median ci lo', got['median_ci_h'][0], want['median_ci_h'][0], 0.0006)
        self.eq(f'{what} median ci hi', got['median_ci_h'][1], want['median_ci_h'][1], 0.0006)
        self.eq(f'{what} points', len(got['points']), len(want['points']))
        for g, w in zip(got['points'], want['points']):
            t = w['t_h']
            self.eq(f'{what} t', g['t_h'], t)
            for k in ('survival', 'lower', 'upper'):
                self.eq(f'{what} {k}@{t}h', g[k], w[k], 2e-6)
            self.eq(f'{what} at_risk@{t}h', g['at_risk'], w['at_risk'])


def check_lifetimes(argv):
    want = json.load(open(argv[0]))
    got = [json.loads(l) for l in open(argv[1])]
    c = Checker()
    a = next(o for o in got if o['key'] == 'all')
    w = want['all']
    c.eq('indicators', a['indicators'], w['indicators'])
    c.eq('subjects', a['lifetime']['n'], w['subjects'])
    c.eq('one_day', a['one_day'], w['one_day'])
    c.eq('one_day_known', a['one_day_known'], w['one_day_known'])
    c.eq('one_day_share', a['one_day_share'], w['one_day_share'], 2e-6)
    c.curve('all lifetime', a['lifetime'], w['lifetime'])
    c.curve('all takedown', a['takedown'], w['takedown'])
    n = 0
    for o in got:
        if o['key'] == 'all':
            continue
        w = want['asn'].get(o['key'])
        if w is None:
            c.eq(f"{o['key']} known to the reference", 0, 1)
            continue
        n += 1
        c.eq(f"{o['key']} one_day_share", o['one_day_share'], w['one_day_share'], 2e-6)
        c.curve(f"{o['key']} lifetime", o['lifetime'], w['lifetime'])
        c.curve(f"{o['key']} takedown", o['takedown'], w['takedown'])
    print(f'lifetimes: all + {n} networks compared, {c.bad} differences')
    return c.bad == 0


def check_networks(argv):
    want = json.load(open(argv[0]))[argv[2] if len(argv) > 2 else 'asn']
    c = Checker()
    n = 0
    for line in open(argv[1]):
        o = json.loads(line)
        w = want.get(o['key'])
        if w is None:
            c.eq(f"{o['key']} known to the reference", 0, 1)
            continue
        n += 1
        k = o['key']
        for f, g in (('indicators_total', 'total'), ('indicators_active', 'active'),
                     ('addresses', 'addresses'), ('subjects', 'subjects'),
                     ('one_day', 'one_day'), ('one_day_known', 'one_day_known'),
                     ('recurrences', 'recurrences'), ('space_v4', 'space_v4')):
            c.eq(f'{k} {f}', o[f], w[g])
        c.eq(f'{k} hosting_share', o['hosting_share'], w['in_hosting'] / w['total'], 2e-6)
        c.eq(f'{k} density', o['density'], w['density'], 2e-6)
        c.eq(f'{k} one_day_share', o['one_day_share'], w['one_day_share'], 2e-6)
        for f, g in (('median_lifetime_h', 'lifetime'), ('median_takedown_h', 'takedown')):
            c.eq(f'{k} {f}', o[f], w[g]['median_h'], 0.0006)
        c.eq(f'{k} takedown ci lo', o['takedown_ci_h'][0], w['takedown']['median_ci_h'][0], 0.0006)
        c.eq(f'{k} takedown ci hi', o['takedown_ci_h'][1], w['takedown']['median_ci_h'][1], 0.0006)
    print(f'networks: {n} compared, {c.bad} differences')
    if len(argv) > 3 and argv[3] == 'all':
        c.eq('networks listed', n, len(want))
    return n > 0 and c.bad == 0


if __name__ == '__main__':
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == 'ref':
        ref(rest)
    elif cmd == 'check-lifetimes':
        sys.exit(0 if check_lifetimes(rest) else 1)
    elif cmd == 'check-networks':
        sys.exit(0 if check_networks(rest) else 1)
    else:
        sys.exit(__doc__)
