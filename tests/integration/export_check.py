#!/usr/bin/env python3
"""Independent checks of sheriff's exports against the formats' documented grammar, for the
consumers Debian 12 does not ship (Suricata, Zeek, MISP) and for STIX 2.1, plus set
comparisons for the parse-back tests. Usage: export_check.py CHECK ARGS...; prints what it
found and exits 1 on the first violation."""
import base64
import csv
import hashlib
import ipaddress
import json
import os
import re
import sys
import uuid

LDH = re.compile(r'^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)+$')
STIX_TS = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')


def fail(msg):
    print('FAIL:', msg)
    sys.exit(1)


def is_domain(s):
    return bool(LDH.match(s)) and not s.rsplit('.', 1)[-1].isdigit()


def csv_set(path, types=None):
    """(type, value) of every listing in a CSV export."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    return {(r['type'], r['indicator']) for r in rows if types is None or r['type'] in types}


def check_same(a, b, types):
    """Two CSV exports list the same (type, value) pairs."""
    ts = set(types.split(','))
    sa, sb = csv_set(a, ts), csv_set(b, ts)
    if sa != sb:
        fail('sets differ: %d only in %s (e.g. %s), %d only in %s (e.g. %s)' % (
            len(sa - sb), a, sorted(sa - sb)[:3], len(sb - sa), b, sorted(sb - sa)[:3]))
    print('same set of %d listings (%s)' % (len(sa), types))


def check_stix(path, expect_revoked=None):
    with open(path) as f:
        b = json.load(f)
    if b.get('type') != 'bundle' or not re.match(r'^bundle--[0-9a-f-]{36}$', b.get('id', '')):
        fail('not a STIX bundle with a bundle id')
    ids = set()
    n_ind = n_rev = 0
    pat = re.compile(r"^\[(ipv4-addr|ipv6-addr|domain-name|url):value = '((?:[^'\\]|\\.)*)'\]$")
    identities = {o['id'] for o in b['objects'] if o.get('type') == 'identity'}
    for o in b['objects']:
        for k in ('type', 'spec_version', 'id', 'created', 'modified'):
            if k not in o:
                fail('object without %s: %s' % (k, o.get('id')))
        if o['spec_version'] != '2.1':
            fail('spec_version %s' % o['spec_version'])
        t, u = o['id'].split('--', 1)
        if t != o['type'] or uuid.UUID(u).version not in (4, 5):
            fail('bad id %s' % o['id'])
        if o['id'] in ids:
            fail('duplicate id %s' % o['id'])
        ids.add(o['id'])
        for k in ('created', 'modified'):
            if not STIX_TS.match(o[k]):
                fail('%s: bad %s %s' % (o['id'], k, o[k]))
        if o['modified'] < o['created']:
            fail('%s: modified before created' % o['id'])
        if o['type'] != 'indicator':
            continue
        n_ind += 1
        for k in ('pattern', 'pattern_type', 'valid_from'):
            if k not in o:
                fail('indicator %s without %s' % (o['id'], k))
        if o['pattern_type'] != 'stix' or not pat.match(o['pattern']):
            fail('%s: pattern %r' % (o['id'], o['pattern']))
        if o.get('created_by_ref') and o['created_by_ref'] not in identities:
            fail('%s: created_by_ref to no identity in the bundle' % o['id'])
        if 'valid_until' in o and o['valid_until'] <= o['valid_from']:
            fail('%s: valid_until not after valid_from' % o['id'])
        if o.get('revoked'):
            n_rev += 1
        if 'confidence' in o and not 0 <= o['confidence'] <= 100:
            fail('%s: confidence out of range' % o['id'])
    if expect_revoked is not None and n_rev != int(expect_revoked):
        fail('%d revoked indicators, wanted %s' % (n_rev, expect_revoked))
    print('STIX bundle: %d objects, %d indicators, %d revoked' % (len(ids), n_ind, n_rev))


def stix_versions(path):
    """id -> (created, modified, revoked) of the indicators of a bundle."""
    with open(path) as f:
        b = json.load(f)
    return {o['id']: (o['created'], o['modified'], bool(o.get('revoked')), o['pattern'])
            for o in b['objects'] if o['type'] == 'indicator'}


def check_stix_versions(old, new, changed_value):
    """Across two exports: ids stable, created kept, modified moved only where content
    changed (changed_value), and revoked objects carry a later modified."""
    a, b = stix_versions(old), stix_versions(new)
    moved = [i for i in a if i in b and a[i][1] != b[i][1]]
    for i in a:
        if i not in b:
            continue
        if a[i][0] != b[i][0]:
            fail('%s: created changed' % i)
        if b[i][1] < a[i][1]:
            fail('%s: modified went back' % i)
    revoked = [i for i in b if b[i][2]]
    for i in revoked:
        if i in a and not b[i][1] > a[i][1]:
            fail('%s revoked without a later modified' % i)
    if changed_value:
        want = [i for i in b if "'%s'" % changed_value in b[i][3]]
        if not want or not all(i in moved for i in want if i in a):
            fail('the changed indicator %s did not get a new modified' % changed_value)
    print('STIX versions: %d ids kept, %d with a new modified, %d revoked' % (
        len(set(a) & set(b)), len(moved), len(revoked)))


def check_stix_revoked(path, value):
    """The indicator for value is in the bundle as revoked."""
    with open(path) as f:
        b = json.load(f)
    hits = [o for o in b['objects'] if o['type'] == 'indicator' and "'%s'" % value in o['pattern']]
    if not hits or not all(o.get('revoked') for o in hits):
        fail('%s is not published as revoked' % value)
    print('%s revoked (modified %s)' % (value, hits[0]['modified']))


def check_suricata(d):
    cats = {}
    with open(os.path.join(d, 'categories.txt')) as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip('\n').split(',')
            if len(parts) != 3 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= 60:
                fail('categories.txt:%d: %r' % (n, line))
            if not re.match(r'^[A-Za-z0-9_-]+$', parts[1]) or parts[1] in cats.values():
                fail('categories.txt:%d: short name %r' % (n, parts[1]))
            if int(parts[0]) in cats:
                fail('categories.txt:%d: id used twice' % n)
            cats[int(parts[0])] = parts[1]
    n_rep = 0
    with open(os.path.join(d, 'sheriff.list')) as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip('\n').split(',')
            if len(parts) != 3:
                fail('sheriff.list:%d: %r' % (n, line))
            ipaddress.ip_network(parts[0], strict=True)
            if int(parts[1]) not in cats or not 1 <= int(parts[2]) <= 127:
                fail('sheriff.list:%d: category or score %r' % (n, line))
            n_rep += 1
    n_ds = 0
    with open(os.path.join(d, 'sheriff-domains.lst')) as f:
        for n, line in enumerate(f, 1):
            name = base64.b64decode(line.strip(), validate=True).decode('ascii')
            if not is_domain(name) and name != 'test':
                fail('sheriff-domains.lst:%d: %r is not a domain' % (n, name))
            n_ds += 1
    sids = set()
    rule = re.compile(r'^(alert|drop|pass|reject) (\S+) (\S+) (\S+) (->|<>) (\S+) (\S+) \((.*)\)$')
    with open(os.path.join(d, 'sheriff.rules')) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            m = rule.match(line)
            if not m:
                fail('sheriff.rules:%d: not a rule: %s' % (n, line))
            opts = [o.strip() for o in re.findall(r'((?:[^;"\\]|"(?:[^"\\]|\\.)*"|\\.)+);', m.group(8))]
            kv = [o.split(':', 1) for o in opts]
            keys = [k[0] for k in kv]
            if 'msg' not in keys or 'sid' not in keys:
                fail('sheriff.rules:%d: no msg or sid' % n)
            for k in kv:
                if k[0] == 'sid':
                    if k[1] in sids:
                        fail('sheriff.rules:%d: sid %s twice' % (n, k[1]))
                    sids.add(k[1])
                if k[0] == 'iprep':
                    side, cat, op, val = k[1].split(',')
                    if side not in ('any', 'src', 'dst', 'both') or cat not in cats.values() \
                            or op not in ('<', '>', '=', '<=', '>=') or not 0 <= int(val) <= 127:
                        fail('sheriff.rules:%d: iprep %s' % (n, k[1]))
                if k[0] == 'dataset':
                    a = k[1].split(',')
                    load = [x.split(' ', 1)[1] for x in a if x.startswith('load ')]
                    if a[0] not in ('isset', 'isnotset') or 'type string' not in a or \
                            not load or not os.path.exists(os.path.join(d, load[0])):
                        fail('sheriff.rules:%d: dataset %s' % (n, k[1]))
    print('Suricata: %d categories, %d reputation lines, %d dataset names, %d rules' % (
        len(cats), n_rep, n_ds, len(sids)))


def check_zeek(path):
    types = {'Intel::ADDR', 'Intel::SUBNET', 'Intel::DOMAIN', 'Intel::URL'}
    counts = {}
    with open(path) as f:
        head = f.readline().rstrip('\n')
        if head != '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url':
            fail('zeek: header %r' % head)
        for n, line in enumerate(f, 2):
            parts = line.rstrip('\n').split('\t')
            if len(parts) != 5 or any(p == '' for p in parts):
                fail('zeek:%d: %d fields or an empty one (use -): %r' % (n, len(parts), line))
            ind, t = parts[0], parts[1]
            if t not in types:
                fail('zeek:%d: type %s' % (n, t))
            if t == 'Intel::ADDR':
                ipaddress.ip_address(ind)
            elif t == 'Intel::SUBNET':
                ipaddress.ip_network(ind, strict=True)
            elif t == 'Intel::DOMAIN' and not is_domain(ind):
                fail('zeek:%d: domain %r' % (n, ind))
            elif t == 'Intel::URL' and ('://' in ind or ' ' in ind):
                fail('zeek:%d: URL with a scheme or a blank: %r' % (n, ind))
            if parts[4] != '-' and not re.match(r'^https?://', parts[4]):
                fail('zeek:%d: meta.url %r' % (n, parts[4]))
            counts[t] = counts.get(t, 0) + 1
    print('Zeek intel: %s' % ', '.join('%s %d' % kv for kv in sorted(counts.items())))


def check_misp(d):
    with open(os.path.join(d, 'manifest.json')) as f:
        manifest = json.load(f)
    attr_types = {'ip-dst', 'ip-src', 'domain', 'url', 'hostname'}
    hashes = set()
    n_attr = 0
    for eu, head in manifest.items():
        uuid.UUID(eu)
        for k in ('info', 'date', 'timestamp', 'analysis', 'threat_level_id', 'Orgc'):
            if k not in head:
                fail('manifest %s: no %s' % (eu, k))
        with open(os.path.join(d, eu + '.json')) as f:
            ev = json.load(f)['Event']
        if ev['uuid'] != eu or ev['info'] != head['info'] or ev['timestamp'] != head['timestamp']:
            fail('event %s disagrees with the manifest' % eu)
        if not re.match(r'^\d{4}-\d\d-\d\d$', ev['date']) or not ev['timestamp'].isdigit():
            fail('event %s: date or timestamp' % eu)
        seen = set()
        newest = 0
        cats = [t['name'] for t in ev.get('Tag', []) if t['name'].startswith('sheriff:category=')]
        if len(cats) != 1:
            fail('event %s: %d category tags' % (eu, len(cats)))
        cat = cats[0].split('=', 1)[1].strip('"')
        for a in ev['Attribute']:
            # one event per category and day of first sighting
            if not a.get('comment', '').startswith(cat + ':') or \
                    a.get('first_seen', ev['date'])[:10] != ev['date']:
                fail('event %s (%s, %s): attribute %s of another category or day'
                     % (eu, cat, ev['date'], a['value']))
            for k in ('uuid', 'type', 'category', 'value', 'to_ids', 'timestamp'):
                if k not in a:
                    fail('event %s: attribute without %s' % (eu, k))
            if a['type'] not in attr_types or a['category'] != 'Network activity':
                fail('event %s: attribute type %s/%s' % (eu, a['type'], a['category']))
            if a['type'] == 'ip-dst':
                ipaddress.ip_network(a['value'], strict=True)
            # MISP refuses an attribute whose last_seen is before its first_seen
            seen_at = []
            for k in ('first_seen', 'last_seen'):
                if k in a:
                    if not re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$', a[k]):
                        fail('event %s: attribute %s %r' % (eu, k, a[k]))
                    seen_at.append(a[k])
            if len(seen_at) == 2 and seen_at[1] < seen_at[0]:
                fail('event %s: attribute %s last seen %s before its first %s'
                     % (eu, a['value'], seen_at[1], seen_at[0]))
            if a['uuid'] in seen:
                fail('event %s: attribute uuid twice' % eu)
            seen.add(a['uuid'])
            newest = max(newest, int(a['timestamp']))
            hashes.add((hashlib.md5(a['value'].encode()).hexdigest(), eu))
            n_attr += 1
        if newest != int(ev['timestamp']):
            fail('event %s: timestamp is not its newest attribute\'s' % eu)
    with open(os.path.join(d, 'hashes.csv')) as f:
        listed = {tuple(line.strip().split(',')) for line in f if line.strip()}
    if listed != hashes:
        fail('hashes.csv does not match the attributes (%d vs %d)' % (len(listed), len(hashes)))
    print('MISP feed: %d events, %d attributes, hashes.csv consistent' % (len(manifest), n_attr))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {'same': check_same, 'stix': check_stix, 'stix-versions': check_stix_versions,
     'stix-revoked': check_stix_revoked,
     'suricata': check_suricata, 'zeek': check_zeek, 'misp': check_misp}[cmd](*args)


if __name__ == '__main__':
    main()
