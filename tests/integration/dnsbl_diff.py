#!/usr/bin/env python3
"""Differential check: the same queries to rbldnsd and to sheriff, answers compared.

usage: dnsbl_diff.py [--secondary] OTHER_PORT SHERIFF_PORT N ZONE:TYPE:FILE...
For each zone, about N queries are drawn from its data file (addresses and names inside,
at the edges of and next to each entry, their parents, and unrelated ones), as A, TXT and a
few other types. Answers must agree on rcode, A records, TXT records and their TTLs. The
one allowed difference is RFC 8020: rbldnsd answers NXDOMAIN for an empty non-terminal (a
name with listed names below it, no data of its own), sheriff NODATA; such names are
checked to be proper parents of a listed entry. And where an answer does not fit 512
bytes, rbldnsd sends part of it without TC while sheriff sets TC (RFC 1035/2181): its TCP
answer must then hold everything rbldnsd sent. Prints a summary; exit 1 on any mismatch."""
import ipaddress as ipa, random, re, socket, struct, sys

secondary = sys.argv[1] == "--secondary"
if secondary: del sys.argv[1]
rbl_port, sh_port, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ADDR = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b")
rng = random.Random(5782)

def qname_bytes(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".") if l) + b"\0"

def skip(b, i):
    while b[i]:
        if b[i] >= 0xC0: return i + 2
        i += b[i] + 1
    return i + 1

def ask_tcp(port, qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + qname_bytes(name) + struct.pack(">HH", qtype, 1)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as t:
        t.sendall(struct.pack(">H", len(q)) + q)
        b = b""
        while len(b) < 2 or len(b) < 2 + struct.unpack(">H", b[:2])[0]:
            c = t.recv(65535)
            if not c: break
            b += c
    return parse(b[2:])

def ask(sock, port, qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + qname_bytes(name) + struct.pack(">HH", qtype, 1)
    for _ in range(3):
        sock.sendto(q, ("127.0.0.1", port))
        try:
            while True:
                b = sock.recv(65535)
                if struct.unpack(">H", b[:2])[0] == qid: break
            break
        except socket.timeout:
            continue
    else:
        return ("TIMEOUT",)
    return parse(b)

def parse(b):
    if b[2] & 2:
        return ("TC",)
    rcode, an = b[3] & 15, struct.unpack(">H", b[6:8])[0]
    i = skip(b, 12) + 4
    recs = []
    for _ in range(an):
        i = skip(b, i)
        t, _, ttl, rdl = struct.unpack(">HHIH", b[i:i + 10]); i += 10
        d = b[i:i + rdl]; i += rdl
        if t == 1: recs.append(("A", socket.inet_ntoa(d), ttl))
        elif t == 16:
            txt = d[1:].decode("latin-1")
            recs.append(("TXT", ADDR.sub("ADDR", txt) if secondary else txt, ttl))
        else: recs.append((t, d.hex(), ttl))
    return (rcode, tuple(sorted(recs, key=str)))

def rev4(a): return ".".join(reversed(str(ipa.IPv4Address(a)).split(".")))
def rev6(a): return ipa.IPv6Address(a).reverse_pointer[:-len(".ip6.arpa")]

def entries(path):
    for line in open(path, encoding="latin-1"):
        s = line.strip()
        if not s or s[0] in "#;:$": continue
        excl = s.startswith("!")
        key = s.lstrip("!").split()[0].split(":")[0] if not s.lstrip("!").startswith("::") else s.lstrip("!").split()[0]
        yield key, excl

def ip4_net(key):
    try:
        if "-" in key:
            a, b = key.split("-")
            if b.count(".") != 3 or a.count(".") != 3: return None
            return int(ipa.IPv4Address(a)), int(ipa.IPv4Address(b))
        if "/" not in key and key.count(".") != 3: return None
        n = ipa.IPv4Network(key, strict=False)
        return int(n.network_address), int(n.broadcast_address)
    except ValueError:
        return None

def ip6_net(key):
    try:
        if "/" not in key and "::" not in key:
            g = key.split(":")
            if len(g) < 8: key = key + "::/%d" % (16 * len(g))
        n = ipa.IPv6Network(key, strict=False)
        return int(n.network_address), int(n.broadcast_address)
    except ValueError:
        return None

def queries_ip4(zone, path, ents):
    out = []
    for key, _ in ents:
        r = ip4_net(key)
        if not r: continue
        lo, hi = r
        for a in {lo, hi, rng.randint(lo, hi), (hi + 1) % 2**32, (lo - 1) % 2**32}:
            out.append(rev4(a) + "." + zone)
        out.append(".".join(rev4(lo).split(".")[1:]) + "." + zone)  # a /24 parent
    out += [rev4(rng.getrandbits(32)) + "." + zone for _ in range(len(out) // 5 + 10)]
    out += ["%d.%d.%d.%s" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255), zone)
            for _ in range(10)]
    return out

def queries_ip6(zone, path, ents):
    out = []
    for key, _ in ents:
        r = ip6_net(key)
        if not r: continue
        lo, hi = r
        for a in {lo, hi, rng.randint(lo, hi), (hi + 1) % 2**128}:
            out.append(rev6(a) + "." + zone)
        out.append(".".join(rev6(lo).split(".")[16:]) + "." + zone)  # a /64 parent
    out += [rev6(rng.getrandbits(128)) + "." + zone for _ in range(len(out) // 5 + 10)]
    return out

def queries_dom(zone, path, ents):
    out = []
    for key, _ in ents:
        d = key.lstrip("*").lstrip(".").lower()
        if not d: continue
        out += [d, "www." + d, "a.b." + d, ".".join(d.split(".")[1:]) or d]
    out += ["x%d.example.%s" % (i, rng.choice(["com", "net", "org"])) for i in range(len(out) // 5 + 10)]
    return [n + "." + zone for n in out if n]

def parents(zone, path, kind):
    """Names that are proper parents of listed entries (RFC 8020 non-terminals)."""
    ps = set()
    for key, excl in entries(path):
        if excl: continue
        if kind == "dom":
            labs = key.lstrip("*").lstrip(".").lower().split(".")
            for i in range(1 if not key.startswith("*") else 0, len(labs)):
                ps.add(".".join(labs[i:]) + "." + zone)
        else:
            r = ip4_net(key) if kind == "ip4" else ip6_net(key)
            if not r: continue
            ps.add(r)
    return ps

def is_parent(name, zone, ps, kind):
    if kind == "dom": return name in ps
    rel = name[:-len(zone) - 1].split(".")
    try:
        if kind == "ip4":
            if len(rel) >= 4: return False
            oct_ = [int(x) for x in reversed(rel)]
            lo = sum(o << (24 - 8 * i) for i, o in enumerate(oct_)); hi = lo | (2 ** (32 - 8 * len(rel)) - 1)
        else:
            if len(rel) >= 32: return False
            nib = [int(x, 16) for x in reversed(rel)]
            lo = sum(n << (124 - 4 * i) for i, n in enumerate(nib)); hi = lo | (2 ** (128 - 4 * len(rel)) - 1)
    except ValueError:
        return False
    return any(a <= hi and b >= lo for a, b in ps)

sa = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sa.settimeout(1)
sb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sb.settimeout(1)
total = same = ent = tc = bad = 0
qid = 0
for spec in sys.argv[4:]:
    zone, typ, path = spec.split(":", 2)
    kind = {"ip4set": "ip4", "ip4trie": "ip4", "ip6trie": "ip6", "dnset": "dom"}[typ]
    ents = list(entries(path))
    gen = {"ip4": queries_ip4, "ip6": queries_ip6, "dom": queries_dom}[kind]
    names = gen(zone, path, ents)
    rng.shuffle(names)
    names = names[:N]
    ps = parents(zone, path, kind)
    excluded = {k.lower().lstrip(".") + "." + zone for k, x in ents if x and kind == "dom" and not k.startswith("*")}
    for name in names:
        r = rng.random()
        qtype = 1 if r < 0.6 else 16 if r < 0.95 else rng.choice([15, 28, 2, 6])
        qid = (qid + 1) % 65536
        a = ask(sa, rbl_port, qid, name, qtype)
        b = ask(sb, sh_port, qid, name, qtype)
        total += 1
        if a == b:
            same += 1
        elif secondary and a == (0, ()) and b[0] == 3 and name in excluded:
            ent += 1
        elif a[0] == 3 and b == (0, ()) and is_parent(name, zone, ps, kind):
            ent += 1
        elif b == ("TC",) and a[0] == 0 and set(a[1]) < set(ask_tcp(sh_port, qid, name, qtype)[1]):
            tc += 1  # rbldnsd drops what does not fit without setting TC; sheriff sets TC
        else:
            bad += 1
            if bad <= 10:
                print("MISMATCH %s type %d: %s %s, sheriff %s" % (name, qtype, "secondary" if secondary else "rbldnsd", a, b))
if secondary:
    print("%d queries: %d identical, %d excluded names (NODATA at the secondary, NXDOMAIN in sheriff), "
          "%d mismatches" % (total, same, ent, bad))
else:
    print("%d queries: %d identical, %d empty non-terminals (rbldnsd NXDOMAIN, sheriff NODATA, RFC 8020), "
          "%d truncated (rbldnsd drops records silently, sheriff sets TC and TCP has them all), %d mismatches"
          % (total, same, ent, tc, bad))
sys.exit(1 if bad or total == 0 else 0)
