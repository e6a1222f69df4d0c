#!/usr/bin/env python3
"""Prints one line per failed test and the closing 'N passed, N failed' line from meson's
testlog.json files (one per build)."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    build = path.split('/')[0]
    for line in open(path):
        t = json.loads(line)
        if t['result'] in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif t['result'] == 'SKIP':
            skipped += 1
        else:
            failed += 1
            print(f"FAILED {build}: {t['name']} ({t['result']})")
print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
