#!/usr/bin/env python3
"""Minimal MaxMind DB writer: ip-location-db range CSVs -> an MMDB of ASN, org and country.

Writes format 2.0 (https://maxmind.github.io/MaxMind-DB/): an IPv6 search tree with IPv4 at
::/96, the data section, then the metadata map. Inputs are ip-location-db CSV files, plain or
gzip: "start,end,asn,org" rows give {autonomous_system_number, autonomous_system_organization}
and "start,end,CC" rows give a country, either as {country_code} or, with
--country-style=iso_code, as {country: {iso_code}}. Ranges are split into CIDRs; a later row
for the same network replaces an earlier one and longer prefixes win over shorter ones.
--alias-ipv4 also points ::ffff:0:0/96 and 2002::/16 at the IPv4 subtree, as MaxMind's own
databases do; --alias PREFIX does the same for any IPv6 prefix. Pure Python, no dependencies; used for the benchmark and the test fixtures.
"""

import argparse
import csv
import gzip
import io
import ipaddress
import struct
import sys
import time

MARKER = b"\xab\xcd\xefMaxMind.com"


def open_text(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return io.StringIO(raw.decode("utf-8"), newline="")


def range_to_cidrs(first, last, bits):
    """Minimal CIDR cover of [first, last] as (start, prefix length) pairs."""
    out = []
    while first <= last:
        size = (first & -first).bit_length() - 1 if first else bits
        while size > 0 and first + (1 << size) - 1 > last:
            size -= 1
        out.append((first, bits - size))
        first += 1 << size
    return out


# ---- data section encoding -------------------------------------------------------------

def ctrl(type_id, size):
    """Control byte(s) for a type and payload size."""
    if type_id <= 7:
        head, ext = type_id << 5, b""
    else:
        head, ext = 0, bytes([type_id - 7])
    if size < 29:
        return bytes([head | size]) + ext
    if size < 29 + 256:
        return bytes([head | 29]) + ext + bytes([size - 29])
    if size < 285 + 65536:
        return bytes([head | 30]) + ext + struct.pack(">H", size - 285)
    return bytes([head | 31]) + ext + (size - 65821).to_bytes(3, "big")


def enc_str(s):
    b = s.encode("utf-8")
    return ctrl(2, len(b)) + b


def enc_uint(type_id, v):
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return ctrl(type_id, len(b)) + b


def encode(v):
    if isinstance(v, bool):
        return ctrl(14, 1 if v else 0)
    if isinstance(v, str):
        return enc_str(v)
    if isinstance(v, int):
        if v < 0 or v >= 1 << 64:
            raise ValueError("integer out of range")
        return enc_uint(6 if v < 1 << 32 else 9, v)
    if isinstance(v, tuple) and v[0] == "uint16":
        return enc_uint(5, v[1])
    if isinstance(v, list):
        return ctrl(11, len(v)) + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        return ctrl(7, len(v)) + b"".join(enc_str(k) + encode(x) for k, x in v.items())
    raise TypeError(type(v))


# ---- search tree ------------------------------------------------------------------------

class Tree:
    """Binary trie over 128-bit keys. A node is [left, right]; a child is None (no data), a
    leaf (record index, prefix length it came from), or another node (a list)."""

    def __init__(self):
        self.root = [None, None]

    def insert(self, start, plen, leaf):
        """Sets [start/plen] to leaf; longer prefixes already inside it are kept and the same
        network given again is replaced."""
        if plen == 0:
            raise ValueError("a /0 network is not supported")
        node = self.root
        for depth in range(plen - 1):
            bit = (start >> (127 - depth)) & 1
            if not isinstance(node[bit], list):
                node[bit] = [node[bit], node[bit]]
            node = node[bit]
        bit = (start >> (128 - plen)) & 1
        if isinstance(node[bit], list):
            fill(node[bit], leaf)
        else:
            node[bit] = leaf


def fill(node, leaf):
    """Gives leaf to every branch under node that is empty or holds a shorter prefix."""
    stack = [node]
    while stack:
        n = stack.pop()
        for i in (0, 1):
            c = n[i]
            if isinstance(c, list):
                stack.append(c)
            elif c is None or c[1] <= leaf[1]:
                n[i] = leaf


def build(rows):
    """rows: (start128, plen, record dict) in input order. Returns (tree, records)."""
    tree = Tree()
    index, records = {}, []
    for start, plen, rec in rows:
        key = repr(sorted(rec.items()))
        if key not in index:
            index[key] = len(records)
            records.append(rec)
        tree.insert(start, plen, (index[key], plen))
    return tree, records


def write_db(tree, records, aliases, desc, out):
    # the IPv4 subtree: the node reached from the root by 96 zero bits
    ipv4 = tree.root
    for _ in range(96):
        if not isinstance(ipv4[0], list):
            ipv4[0] = [ipv4[0], ipv4[0]]
        ipv4 = ipv4[0]
    for start, plen in aliases:
        node = tree.root
        for depth in range(plen - 1):
            bit = (start >> (127 - depth)) & 1
            if not isinstance(node[bit], list):
                node[bit] = [node[bit], node[bit]]
            node = node[bit]
        node[(start >> (128 - plen)) & 1] = ipv4

    # number the nodes breadth-first; aliased subtrees are numbered once
    numbers, order = {id(tree.root): 0}, [tree.root]
    i = 0
    while i < len(order):
        for c in order[i]:
            if isinstance(c, list) and id(c) not in numbers:
                numbers[id(c)] = len(order)
                order.append(c)
        i += 1
    node_count = len(order)

    data = bytearray()
    offsets = []
    for rec in records:
        offsets.append(len(data))
        data += encode(rec)

    def value(c):
        if c is None:
            return node_count
        if isinstance(c, list):
            return numbers[id(c)]
        return node_count + 16 + offsets[c[0]]

    top = node_count + 16 + len(data)
    record_size = 24 if top < 1 << 24 else 28 if top < 1 << 28 else 32
    tree_bytes = bytearray()
    for n in order:
        left, right = value(n[0]), value(n[1])
        if record_size == 24:
            tree_bytes += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:
            mid = ((left >> 24) & 0xF) << 4 | ((right >> 24) & 0xF)
            tree_bytes += (left & 0xFFFFFF).to_bytes(3, "big") + bytes([mid]) + \
                (right & 0xFFFFFF).to_bytes(3, "big")
        else:
            tree_bytes += left.to_bytes(4, "big") + right.to_bytes(4, "big")

    meta = {
        "binary_format_major_version": ("uint16", 2),
        "binary_format_minor_version": ("uint16", 0),
        "build_epoch": int(time.time()) if desc.get("epoch") is None else desc["epoch"],
        "database_type": desc["type"],
        "description": {"en": desc["text"]},
        "ip_version": ("uint16", 6),
        "languages": ["en"],
        "node_count": node_count,
        "record_size": ("uint16", record_size),
    }
    meta_bytes = ctrl(7, len(meta))
    for k, v in meta.items():
        meta_bytes += enc_str(k)
        # build_epoch is a uint64 in the spec, whatever its size
        meta_bytes += enc_uint(9, v) if k == "build_epoch" else encode(v)
    with open(out, "wb") as f:
        f.write(tree_bytes)
        f.write(b"\0" * 16)
        f.write(data)
        f.write(MARKER)
        f.write(meta_bytes)
    return node_count, record_size, len(data)


def read_rows(paths, country_style):
    rows = []
    for path in paths:
        for lineno, r in enumerate(csv.reader(open_text(path)), 1):
            if not r or r[0].startswith("#"):
                continue
            try:
                a, b = ipaddress.ip_address(r[0]), ipaddress.ip_address(r[1])
                if a.version != b.version or int(a) > int(b):
                    raise ValueError("bad range")
                if len(r) >= 4:
                    rec = {"autonomous_system_number": int(r[2]),
                           "autonomous_system_organization": r[3]}
                elif len(r) == 3:
                    cc = r[2].strip().upper()
                    rec = {"country": {"iso_code": cc}} if country_style == "iso_code" \
                        else {"country_code": cc}
                else:
                    raise ValueError("wrong column count")
            except (ValueError, IndexError) as e:
                print(f"{path}:{lineno}: skipped ({e})", file=sys.stderr)
                continue
            bits = 32 if a.version == 4 else 128
            for start, plen in range_to_cidrs(int(a), int(b), bits):
                # IPv4 lives at ::/96 of the IPv6 tree
                rows.append((start, plen + 96 if bits == 32 else plen, rec))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", required=True, help="MMDB file to write")
    ap.add_argument("--alias-ipv4", action="store_true",
                    help="alias ::ffff:0:0/96 and 2002::/16 to the IPv4 subtree")
    ap.add_argument("--alias", action="append", default=[], metavar="PREFIX",
                    help="point this IPv6 prefix at the IPv4 subtree (repeatable)")
    ap.add_argument("--country-style", choices=["country_code", "iso_code"],
                    default="country_code")
    ap.add_argument("--type", default="sheriff-ASN", help="database_type metadata")
    ap.add_argument("--epoch", type=int, help="build_epoch (default: now)")
    ap.add_argument("csv", nargs="+", help="ip-location-db CSV files (.csv or .csv.gz)")
    args = ap.parse_args()
    t0 = time.time()
    rows = read_rows(args.csv, args.country_style)
    tree, records = build(rows)
    desc = {"type": args.type, "epoch": args.epoch,
            "text": "built by sheriff bench/mkmmdb.py from " +
                    ", ".join(p.rsplit("/", 1)[-1] for p in args.csv)}
    aliases = [(0xFFFF << 32, 96), (0x2002 << 112, 16)] if args.alias_ipv4 else []
    for a in args.alias:
        net = ipaddress.IPv6Network(a)
        aliases.append((int(net.network_address), net.prefixlen))
    nodes, rs, dlen = write_db(tree, records, aliases, desc, args.out)
    print(f"{args.out}: {len(rows)} networks, {len(records)} records, {nodes} nodes, "
          f"{rs}-bit records, {dlen} data bytes, {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
