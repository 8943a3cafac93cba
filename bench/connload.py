#!/usr/bin/env python3
"""Load generator, server and prober for bench/dataplane.bench.ts (a benchmark tool, not Podwall).

Each mode first moves this process into the pod's network namespace (setns(2), as podnet.py
does), so every socket it makes belongs to that pod, then talks to the benchmark by lines on
stdin/stdout. Clocks are CLOCK_MONOTONIC nanoseconds, the clock node's process.hrtime uses.

  connload.py server NETNS PORT
      accept and close, as fast as possible, until stdin closes; prints "ready"
  connload.py client NETNS IP PORT CONCURRENCY
      per line "run SECONDS WARMUP": TCP connect + close (RST, so neither side keeps TIME_WAIT
      and conntrack keeps a CLOSE entry for 10 s instead of TIME_WAIT for 120 s), CONCURRENCY
      connects in flight (non-blocking sockets, epoll); prints one JSON line
      {"ok": connects completed after the warm-up, "errors": n, "seconds": measured time}
  connload.py flip NETNS IP PORT ANSWER
      per line "wait allowed|denied TIMEOUT": one TCP probe after another (connect, read the
      server's answer; allowed = ANSWER came back) until the answer is the one asked for; prints
      {"t_ns": end of the first probe that saw it, "probes": n}; per line "check": one probe,
      prints {"state": "allowed"|"denied"}
"""
import ctypes
import errno
import json
import os
import select
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
LINGER_RST = struct.pack('ii', 1, 0)


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(os.path.join('/run/netns', name), os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def say(obj):
    sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + '\n')
    sys.stdout.flush()


def serve(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('0.0.0.0', port))
    ls.listen(4096)
    ls.setblocking(False)
    ep = select.epoll()
    ep.register(ls.fileno(), select.EPOLLIN)
    ep.register(0, select.EPOLLIN)
    accept = getattr(ls, '_accept', None)  # fd only: no socket object per connection
    say('ready')
    while True:
        for fd, _ in ep.poll():
            if fd == 0:
                if not os.read(0, 4096):
                    return
                continue
            while True:
                try:
                    if accept:
                        conn_fd, _ = accept()
                        os.close(conn_fd)
                    else:
                        ls.accept()[0].close()
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno in (errno.ECONNABORTED, errno.EINTR):
                        continue
                    if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        break
                    raise


def load(addr, concurrency, seconds, warmup):
    ep = select.epoll()
    inflight = {}
    ok = errors = 0
    t_start = time.monotonic()
    t_count = t_start + warmup
    t_end = t_count + seconds
    counting = False
    last_event = t_start
    error_kinds = {}
    while True:
        now = time.monotonic()
        if not counting and now >= t_count:
            counting = True
            ok = errors = 0
            t_count = now
        if now < t_end:
            while len(inflight) < concurrency:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RST)
                s.connect_ex(addr)
                fd = s.fileno()
                inflight[fd] = s
                ep.register(fd, select.EPOLLOUT)
        elif not inflight:
            break
        events = ep.poll(0.05)
        if events:
            last_event = now
        elif now - last_event > 3:
            error_kinds['stalled'] = len(inflight)
            break
        for fd, _ in events:
            s = inflight.pop(fd)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                ok += 1
            else:
                errors += 1
                name = errno.errorcode.get(err, str(err))
                error_kinds[name] = error_kinds.get(name, 0) + 1
            s.close()  # also leaves the epoll set
    for s in inflight.values():
        s.close()
    return {'ok': ok, 'errors': errors, 'errorKinds': error_kinds, 'seconds': time.monotonic() - t_count}


def probe_once(addr, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.3)
    try:
        s.connect(addr)
        data = b''
        while True:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
        return 'allowed' if data.decode(errors='replace').strip() == answer else 'denied'
    except OSError:
        return 'denied'
    finally:
        s.close()


def main(argv):
    mode = argv[1] if len(argv) > 1 else ''
    if mode == 'server' and len(argv) == 4:
        enter_netns(argv[2])
        serve(int(argv[3]))
        return 0
    if mode == 'client' and len(argv) == 6:
        enter_netns(argv[2])
        addr, concurrency = (argv[3], int(argv[4])), int(argv[5])
        say('ready')
        for line in sys.stdin:
            words = line.split()
            if words and words[0] == 'run':
                say(load(addr, concurrency, float(words[1]), float(words[2])))
        return 0
    if mode == 'flip' and len(argv) == 6:
        enter_netns(argv[2])
        addr, answer = (argv[3], int(argv[4])), argv[5]
        say({'ready': True, 'now_ns': time.monotonic_ns()})
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == 'check':
                say({'state': probe_once(addr, answer)})
            elif words[0] == 'wait':
                want, deadline = words[1], time.monotonic() + float(words[2])
                probes = 0
                while True:
                    state = probe_once(addr, answer)
                    t = time.monotonic_ns()
                    probes += 1
                    if state == want:
                        say({'t_ns': t, 'probes': probes})
                        break
                    if time.monotonic() > deadline:
                        say({'timeout': True, 'probes': probes})
                        break
                    time.sleep(0.001)  # leave the CPU to the change being measured
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
