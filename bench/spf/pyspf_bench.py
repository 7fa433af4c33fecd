# The peer: pyspf (Debian python3-spf, with python3-dns), one check after another.
#   /usr/bin/python3 pyspf_bench.py PORT DOMAINS CHECKS
import sys
import time

import spf
import DNS

port, ndom, total = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
DNS.defaults['server'] = ['127.0.0.1']
DNS.defaults['port'] = port
passed = 0
t0 = time.monotonic()
for i in range(total):
    res, _, _ = spf.check(i='192.0.2.%d' % (i % 250 + 1), s='user%d@s%d.bench' % (i % 97, i % ndom),
                          h='mta.example.net')
    passed += res == 'pass'
dt = time.monotonic() - t0
print('checks_per_s=%.0f pass=%d other=%d' % (total / dt, passed, total - passed))
