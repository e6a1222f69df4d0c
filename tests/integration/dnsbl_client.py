#!/usr/bin/env python3
"""Raw DNS checks that dig cannot do, for the dnsbl integration tests.

  dnsbl_client.py pipeline PORT NAME...   N queries in one TCP write; answers in order
  dnsbl_client.py malformed PORT          broken packets: FORMERR or silence, never a crash
  dnsbl_client.py idle PORT SECONDS       an idle TCP connection is closed by the server
  dnsbl_client.py tcpmax PORT N           past N connections, new ones are closed at once
  dnsbl_client.py rrl PORT RATE           a burst from one client: at most ~RATE answers,
                                          some sent truncated (slip), the rest dropped
Exit 0 when every check holds; each failure is printed."""
import socket, struct, sys, time

def name(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".")) + b"\0"

def query(qid, n, qtype=1, flags=0x0000, extra=b"", arcount=0):
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, arcount) + name(n) + struct.pack(">HH", qtype, 1) + extra

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return b

def pipeline(port, names):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"".join(struct.pack(">H", len(q)) + q for q in
                       (query(1000 + i, n) for i, n in enumerate(names))))
    bad = 0
    for i, n in enumerate(names):
        l = struct.unpack(">H", recv_exact(s, 2))[0]
        r = recv_exact(s, l)
        qid, fl = struct.unpack(">HH", r[:4])
        if qid != 1000 + i or not fl & 0x8000:
            print("pipeline: answer %d has id %d flags %04x" % (i, qid, fl)); bad += 1
    s.close()
    print("pipeline: %d queries, %d answers out of order or broken" % (len(names), bad))
    return bad == 0

def malformed(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
    q = query(7, "2.0.0.127.ip4.bl.test")
    cases = [  # (label, packet, expected rcode or None for silence)
        ("empty", b"", None),
        ("short header", b"\x00\x01\x00", None),
        ("response bit set", bytes([q[0], q[1], q[2] | 0x80]) + q[3:], None),
        ("no question", struct.pack(">HHHHHH", 8, 0, 0, 0, 0, 0), 1),
        ("two questions", struct.pack(">HHHHHH", 9, 0, 2, 0, 0, 0) + q[12:] + q[12:], 1),
        ("truncated name", q[:20], 1),
        ("label too long", struct.pack(">HHHHHH", 10, 0, 1, 0, 0, 0) + b"\x50" + b"a" * 80 + b"\0\0\1\0\1", 1),
        ("compression pointer in question", struct.pack(">HHHHHH", 11, 0, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1", 1),
        ("missing qtype", q[:-4], 1),
        ("bad OPT (truncated)", query(12, "2.0.0.127.ip4.bl.test", arcount=1, extra=b"\0\0\x29\x10"), 1),
        ("two OPT records", query(13, "2.0.0.127.ip4.bl.test", arcount=2,
                                  extra=(b"\0\0\x29\x10\0\0\0\0\0\0\0") * 2), 1),
        ("answer section in a query", struct.pack(">HHHHHH", 14, 0, 1, 1, 0, 0) + q[12:] +
                                       b"\xc0\x0c\0\1\0\1\0\0\0\1\0\4\1\2\3\4", 1),
        ("opcode STATUS", bytes([q[0], q[1], 2 << 3]) + q[3:], 4),
        ("qtype OPT", query(15, "2.0.0.127.ip4.bl.test", qtype=41), 1),
        ("AXFR over UDP", query(16, "ip4.bl.test", qtype=252), 4),
        ("binary garbage", bytes(range(256)) * 2, None),
    ]
    ok = True
    for label, pkt, want in cases:
        s.sendto(pkt, ("127.0.0.1", port))
        try:
            r = s.recv(4096)
            got = r[3] & 15
        except socket.timeout:
            got = None
        if label == "binary garbage":  # header says response: silence; anything else must be sane
            want = got if got is None or got in (1, 4) else -1
        if got != want:
            print("malformed: %s: rcode %s, wanted %s" % (label, got, want)); ok = False
    # the server still answers afterwards
    s.sendto(q, ("127.0.0.1", port))
    try:
        r = s.recv(4096); alive = r[3] & 15 == 0 and r[7] >= 1
    except socket.timeout:
        alive = False
    if not alive:
        print("malformed: server does not answer a good query afterwards"); ok = False
    print("malformed: %d cases" % len(cases))
    return ok

def idle(port, secs):
    s = socket.create_connection(("127.0.0.1", port), timeout=secs * 4 + 5)
    t0 = time.time()
    try:
        closed = s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        closed = False
    waited = time.time() - t0
    print("idle: closed=%s after %.1fs" % (closed, waited))
    return closed

def tcpmax(port, n):
    conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    time.sleep(0.5)
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        closed = extra.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    # the first connections still work
    c = conns[0]
    q = query(77, "2.0.0.127.ip4.bl.test")
    c.sendall(struct.pack(">H", len(q)) + q)
    l = struct.unpack(">H", recv_exact(c, 2))[0]
    works = struct.unpack(">H", recv_exact(c, l)[:2])[0] == 77
    for x in conns + [extra]:
        x.close()
    print("tcpmax: extra connection closed=%s, earlier connection works=%s" % (closed, works))
    return closed and works

def rrl(port, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.3)
    n = 20 * rate
    for i in range(n):
        s.sendto(query(i, "2.0.0.127.ip4.bl.test"), ("127.0.0.1", port))
    full = tc = 0
    try:
        while True:
            r = s.recv(4096)
            if r[2] & 2: tc += 1
            elif r[7] >= 1: full += 1
    except socket.timeout:
        pass
    print("rrl: %d queries, %d answered, %d truncated (slip), %d dropped" % (n, full, tc, n - full - tc))
    # the bucket holds RATE and refills RATE per second: a burst gets about that many
    return 1 <= full <= 3 * rate and tc >= 1 and full + tc < n

if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    ok = {"pipeline": lambda: pipeline(port, sys.argv[3:]),
          "malformed": lambda: malformed(port),
          "idle": lambda: idle(port, float(sys.argv[3])),
          "tcpmax": lambda: tcpmax(port, int(sys.argv[3])),
          "rrl": lambda: rrl(port, int(sys.argv[3]))}[cmd]()
    sys.exit(0 if ok else 1)
