#!/usr/bin/env python3
"""Sockets inside the lab's pod network namespaces, from one process.

The lab needs a server on every declared port of every pod, and probes from every pod to every
pod. A process per pod (or per probe) would cost hundreds of processes; instead this helper
enters each namespace with setns(2) only long enough to create a socket there (a socket stays in
the namespace it was created in), then serves or probes all of them from one event loop.

  podnet.py serve CONFIG STATUS   serve the pods in CONFIG (JSON); SIGHUP reloads it, and STATUS
                                  receives {"generation": N, "pid": P, "errors": [...],
                                  "listening": {POD: ["80/TCP/4", ...]}} once a load is done: the
                                  sockets that are bound and listening, per pod, so a pod is only
                                  called ready when every one of its sockets is
  podnet.py probe                 read {"timeout": s, "probes": [...]} on stdin, print results (each
                                  with the errno of a failure and the probe's own source port, so
                                  the caller can look the flow up in conntrack)
"""
import ctypes
import errno
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
PROBE_PAYLOAD = b'podwall?\n'
_libc = ctypes.CDLL(None, use_errno=True)


class Namespaces:
    """Enters named network namespaces (/run/netns/NAME) and always returns to our own."""

    def __init__(self):
        self.home = os.open('/proc/self/ns/net', os.O_RDONLY)

    def _setns(self, fd):
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def socket_in(self, netns, family, kind):
        fd = os.open(os.path.join('/run/netns', netns), os.O_RDONLY)
        try:
            self._setns(fd)
            try:
                return socket.socket(family, kind)
            finally:
                self._setns(self.home)
        finally:
            os.close(fd)


def family_of(ip):
    return socket.AF_INET6 if ':' in ip else socket.AF_INET


# ---------------------------------------------------------------------------------------------
# DNS: the lab's cluster DNS (kube-dns) answers from a table of records, as CoreDNS's kubernetes
# plugin would: NAME.NS.svc.cluster.local -> a ClusterIP (a headless Service: its pods' IPs).

QTYPE_A, QTYPE_AAAA, QCLASS_IN = 1, 28, 1
RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP = 1, 3, 4


def dns_name(data, offset):
    """The (lower-cased) name at offset, and the offset after it. Compression is not used in queries."""
    labels = []
    while True:
        if offset >= len(data):
            raise ValueError('truncated name')
        length = data[offset]
        offset += 1
        if length == 0:
            return '.'.join(labels).lower(), offset
        if length & 0xC0:
            raise ValueError('compressed name in a question')
        labels.append(data[offset:offset + length].decode('ascii', 'replace'))
        offset += length


def dns_answer(query, records, ttl=5):
    """The response to one DNS query (bytes), or None for something that is not a query at all."""
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack('!HHH', query[:6])
    if flags & 0x8000:
        return None  # a response, not a query
    rd = flags & 0x0100
    def reply(rcode, question=b'', answers=()):
        header = struct.pack('!HHHHHH', qid, 0x8000 | 0x0400 | rd | rcode, 1 if question else 0, len(answers), 0, 0)
        return header + question + b''.join(answers)
    if (flags >> 11) & 0xF != 0 or qdcount != 1:
        return reply(RCODE_NOTIMP if (flags >> 11) & 0xF else RCODE_FORMERR)
    try:
        name, end = dns_name(query, 12)
        qtype, qclass = struct.unpack('!HH', query[end:end + 4])
    except (ValueError, struct.error):
        return reply(RCODE_FORMERR)
    question = query[12:end + 4]
    name = name.rstrip('.')
    if name not in records:
        return reply(RCODE_NXDOMAIN, question)
    answers = []
    if qclass == QCLASS_IN and qtype in (QTYPE_A, QTYPE_AAAA):
        family = socket.AF_INET if qtype == QTYPE_A else socket.AF_INET6
        for ip in records[name]:
            if family_of(ip) != family:
                continue
            rdata = socket.inet_pton(family, ip)
            # The answer's name points back at the question's (offset 12).
            answers.append(struct.pack('!HHHIH', 0xC00C, qtype, QCLASS_IN, ttl, len(rdata)) + rdata)
    # A name that exists with no record of the type asked: NOERROR with no answer (NODATA).
    return reply(0, question, answers)


# ---------------------------------------------------------------------------------------------
# serve

class Server:
    def __init__(self, config_path, status_path):
        self.config_path = config_path
        self.status_path = status_path
        self.ns = Namespaces()
        self.sel = selectors.DefaultSelector()
        self.listeners = {}  # (netns, inode, family, protocol, port) -> (socket, answer)
        self.reload_requested = True
        self.stop_requested = False
        self.records = {}

    def load(self):
        with open(self.config_path) as f:
            config = json.load(f)
        wanted = {}
        owner = {}
        errors = []
        self.records = {k.lower(): v for k, v in config.get('records', {}).items()}
        for pod in config.get('pods', []):
            answer = (pod['name'] + '\n').encode()
            if pod.get('dns'):
                # A DNS pod's port 53 speaks DNS (and still answers the lab's probe with its name).
                answer = b'dns:' + answer
            # A namespace is known by its inode too: one deleted and made again under the same
            # name is another namespace, and a socket left in the old one serves nobody.
            try:
                inode = os.stat(os.path.join('/run/netns', pod['netns'])).st_ino
            except OSError as e:
                errors.append('%s: %s' % (pod['netns'], e.strerror or e))
                continue
            owner[(pod['netns'], inode)] = pod['name']
            families = sorted({family_of(ip) for ip in pod.get('ips', [])}) or [socket.AF_INET]
            for port in pod.get('ports', []):
                if port['protocol'] not in ('TCP', 'UDP'):
                    continue  # SCTP sockets are not available on the machines this runs on
                for fam in families:
                    wanted[(pod['netns'], inode, fam, port['protocol'], port['containerPort'])] = answer
        for key in list(self.listeners):
            if key not in wanted or wanted[key] != self.listeners[key][1]:
                sock, _ = self.listeners.pop(key)
                self.sel.unregister(sock)
                sock.close()
        for key, answer in sorted(wanted.items()):
            if key in self.listeners:
                continue
            netns, _, fam, protocol, port = key
            try:
                kind = socket.SOCK_STREAM if protocol == 'TCP' else socket.SOCK_DGRAM
                sock = self.ns.socket_in(netns, fam, kind)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', port))
                if protocol == 'TCP':
                    sock.listen(128)
                sock.setblocking(False)
                self.sel.register(sock, selectors.EVENT_READ, (protocol, answer))
                self.listeners[key] = (sock, answer)
            except OSError as e:
                errors.append('%s %s/%s: %s' % (netns, port, protocol, e.strerror or e))
        listening = {}
        for (netns, inode, fam, protocol, port) in self.listeners:
            name = owner.get((netns, inode))
            if name is not None:
                listening.setdefault(name, []).append('%d/%s/%d' % (port, protocol, 6 if fam == socket.AF_INET6 else 4))
        for ports in listening.values():
            ports.sort()
        tmp = self.status_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'generation': config.get('generation', 0), 'errors': errors, 'pid': os.getpid(), 'listening': listening}, f)
        os.replace(tmp, self.status_path)

    def run(self):
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, 'reload_requested', True))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, 'stop_requested', True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, 'stop_requested', True))
        while not self.stop_requested:
            if self.reload_requested:
                self.reload_requested = False
                self.load()
            for key, _ in self.sel.select(timeout=0.2):
                protocol, answer = key.data
                if answer.startswith(b'dns:'):
                    self.serve_dns(key.fileobj, protocol, answer[4:])
                    continue
                try:
                    if protocol == 'TCP':
                        conn, _ = key.fileobj.accept()
                        conn.setblocking(True)
                        conn.settimeout(0.5)
                        try:
                            conn.sendall(answer)
                        finally:
                            conn.close()
                    else:
                        _, peer = key.fileobj.recvfrom(2048)
                        key.fileobj.sendto(answer, peer)
                except OSError:
                    pass


    def serve_dns(self, sock, protocol, name):
        try:
            if protocol == 'UDP':
                data, peer = sock.recvfrom(4096)
                reply = name if data == PROBE_PAYLOAD else dns_answer(data, self.records)
                if reply is not None:
                    sock.sendto(reply, peer)
                return
            conn, _ = sock.accept()
        except OSError:
            return
        # A DNS client speaks first; the lab's probe only listens: whoever is silent gets the name.
        threading.Thread(target=self.dns_over_tcp, args=(conn, name), daemon=True).start()

    def dns_over_tcp(self, conn, name):
        try:
            conn.setblocking(True)
            conn.settimeout(0.3)
            try:
                head = conn.recv(2, socket.MSG_WAITALL)
            except socket.timeout:
                conn.sendall(name)
                return
            conn.settimeout(2)
            while len(head) == 2:
                (length,) = struct.unpack('!H', head)
                query = conn.recv(length, socket.MSG_WAITALL)
                reply = dns_answer(query, self.records)
                if reply is None:
                    return
                conn.sendall(struct.pack('!H', len(reply)) + reply)
                head = conn.recv(2, socket.MSG_WAITALL)
        except OSError:
            pass
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------------
# probe

def probe_all(request):
    ns = Namespaces()
    timeout = float(request.get('timeout', 1.0))
    probes = request['probes']
    results = [None] * len(probes)
    sel = selectors.DefaultSelector()
    pending = {}  # socket -> state
    next_index = 0
    max_open = 400

    def finish(sock, ok, answer=None, error=None):
        state = pending.pop(sock)
        try:
            sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        if state['sport'] is None:
            try:
                state['sport'] = sock.getsockname()[1]
            except OSError:
                pass
        if sock.type == socket.SOCK_STREAM:
            # Close with a reset: no TIME_WAIT, so the host's conntrack table keeps no entry of
            # the probe for minutes (every lab change walks that table).
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            except OSError:
                pass
        sock.close()
        p = probes[state['i']]
        results[state['i']] = {
            'id': p.get('id', state['i']),
            'ok': bool(ok and (p.get('expect') is None or answer == p['expect'])),
            'answer': answer,
            'error': error,
            'sport': state['sport'],
            'ms': round((time.monotonic() - state['t0']) * 1000, 2),
        }

    while next_index < len(probes) or pending:
        while next_index < len(probes) and len(pending) < max_open:
            i = next_index
            next_index += 1
            p = probes[i]
            fam = family_of(p['ip'])
            t0 = time.monotonic()
            try:
                if p['protocol'] == 'TCP':
                    sock = ns.socket_in(p['netns'], fam, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    sock.connect_ex((p['ip'], p['port']))
                    pending[sock] = {'i': i, 't0': t0, 'phase': 'connect', 'buf': b'', 'sport': sock.getsockname()[1]}
                    sel.register(sock, selectors.EVENT_WRITE)
                else:
                    sock = ns.socket_in(p['netns'], fam, socket.SOCK_DGRAM)
                    sock.setblocking(False)
                    sock.connect((p['ip'], p['port']))
                    sock.send(PROBE_PAYLOAD)
                    pending[sock] = {'i': i, 't0': t0, 'phase': 'read', 'buf': b'', 'sport': sock.getsockname()[1]}
                    sel.register(sock, selectors.EVENT_READ)
            except OSError as e:
                results[i] = {'id': p.get('id', i), 'ok': False, 'answer': None, 'error': errno.errorcode.get(e.errno, str(e)), 'sport': None, 'ms': 0}
                continue
        for key, _ in sel.select(timeout=0.05):
            sock = key.fileobj
            state = pending.get(sock)
            if state is None:
                continue
            p = probes[state['i']]
            if state['phase'] == 'connect':
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    finish(sock, False, error=errno.errorcode.get(err, str(err)))
                    continue
                state['phase'] = 'read'
                sel.modify(sock, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(2048)
            except OSError as e:
                finish(sock, False, error=errno.errorcode.get(e.errno, str(e)))
                continue
            if p['protocol'] == 'UDP':
                finish(sock, True, answer=data.decode(errors='replace').strip())
            elif data:
                state['buf'] += data
            else:
                finish(sock, True, answer=state['buf'].decode(errors='replace').strip())
        now = time.monotonic()
        for sock, state in list(pending.items()):
            if now - state['t0'] > timeout:
                finish(sock, False, error='timeout')
    return results


def main(argv):
    if len(argv) >= 2 and argv[1] == 'serve' and len(argv) == 4:
        Server(argv[2], argv[3]).run()
        return 0
    if len(argv) == 2 and argv[1] == 'probe':
        json.dump(probe_all(json.load(sys.stdin)), sys.stdout)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
