#!/usr/bin/env python3
"""A small Tecken-compatible symbol server for symupload's tests.

Implements the upload rules of Tecken's v1 API that a client can get wrong
(auth token, form field name ending in .zip, zip member layout, Content-Length,
skipped_keys for files it already has) plus HEAD/GET of stored keys, and
injects faults on demand.  Loopback only; picks a free port and writes it to a
file.  Every request is appended as one JSON line to the log file so tests can
count and inspect what arrived.

usage: tecken_server.py CONFIG.json

CONFIG keys:
  token        the accepted Auth-Token
  port_file    where to write the chosen port
  log_file     JSON-lines request log
  store_dir    accepted files are written here under their key
  existing     {key: text} files the server already has
  faults       list consumed one per POST, each one of
                 {"status": 503, "retry_after": "1", "error": "...",
                  "echo_token": true}       (quote the token back)
                 {"status": 200, "html": "..."}   a non-Tecken page
                 {"drop": true}            read the body, close without reply
                 {"slow": 3.0}             wait this long, then give up on it
  max_zip      answer 413 to archives larger than this many bytes
  delay        seconds to hold every authorised POST (to observe concurrency)
"""
import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BAD_CHARS = set('\\^`><{}[]#%"\'|/')


def safe_component(c):
    if not c or c in ('.', '..'):
        return False
    for ch in c:
        o = ord(ch)
        if o < 0x20 or o >= 0x7f or ch in BAD_CHARS:
            return False
    return True


def parse_multipart(ctype, body):
    """Returns [(name, filename, data)] or raises ValueError."""
    params = {}
    parts = [p.strip() for p in ctype.split(';')]
    if parts[0].lower() != 'multipart/form-data':
        raise ValueError('not multipart/form-data')
    for p in parts[1:]:
        if '=' in p:
            k, v = p.split('=', 1)
            params[k.strip().lower()] = v.strip().strip('"')
    boundary = params.get('boundary')
    if not boundary:
        raise ValueError('no boundary')
    delim = b'--' + boundary.encode('latin-1')
    if not body.startswith(delim):
        raise ValueError('body does not start with the boundary')
    out = []
    pos = 0
    while True:
        if not body.startswith(delim, pos):
            raise ValueError('missing boundary')
        pos += len(delim)
        if body.startswith(b'--', pos):
            break  # closing delimiter
        if not body.startswith(b'\r\n', pos):
            raise ValueError('bad delimiter line')
        pos += 2
        hend = body.find(b'\r\n\r\n', pos)
        if hend < 0:
            raise ValueError('unterminated part headers')
        headers = {}
        for line in body[pos:hend].split(b'\r\n'):
            k, _, v = line.decode('latin-1').partition(':')
            headers[k.strip().lower()] = v.strip()
        pos = hend + 4
        nxt = body.find(b'\r\n' + delim, pos)
        if nxt < 0:
            raise ValueError('unterminated part')
        data = body[pos:nxt]
        pos = nxt + 2
        name = filename = None
        for item in headers.get('content-disposition', '').split(';'):
            item = item.strip()
            if item.startswith('name='):
                name = item[5:].strip('"')
            elif item.startswith('filename='):
                filename = item[9:].strip('"')
        out.append((name, filename, data))
    return out


class State:
    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.Lock()
        self.faults = list(cfg.get('faults', []))
        self.existing = set(cfg.get('existing', {}).keys())
        self.store_dir = cfg['store_dir']
        self.log = open(cfg['log_file'], 'a', buffering=1)
        self.uploads = 0
        self.inflight = 0
        for key, text in cfg.get('existing', {}).items():
            self.put(key, text.encode())

    def put(self, key, data):
        path = os.path.join(self.store_dir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)

    def record(self, ev):
        with self.lock:
            self.log.write(json.dumps(ev) + '\n')

    def next_fault(self):
        with self.lock:
            return self.faults.pop(0) if self.faults else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    state = None

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_HEAD(self):
        self.lookup()

    def do_GET(self):
        self.lookup()

    def lookup(self):
        # Like Tecken: the symbol URL answers 302 to storage, storage serves.
        path = self.path.lstrip('/').split('?')[0]
        storage = path.startswith('storage/')
        key = path[len('storage/'):] if storage else path
        st = self.state
        found = key in st.existing
        st.record({'method': self.command, 'key': key, 'found': found, 'storage': storage})
        if found and not storage:
            self.send_response(302)
            self.send_header('Location', '/storage/' + key)
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif found:
            data = open(os.path.join(st.store_dir, key), 'rb').read()
            self.send_response(200)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command == 'GET':
                self.wfile.write(data)
        else:
            self.reply(404, {'error': 'not found'})

    def do_POST(self):
        st = self.state
        ev = {'method': 'POST', 'path': self.path,
              'user_agent': self.headers.get('User-Agent'),
              'content_length': self.headers.get('Content-Length'),
              'transfer_encoding': self.headers.get('Transfer-Encoding'),
              'token_ok': None, 'status': None}
        with st.lock:
            st.inflight += 1
            ev['inflight'] = st.inflight
        try:
            self.handle_upload(st, ev)
        finally:
            with st.lock:
                st.inflight -= 1
            st.record(ev)

    def drain_chunked(self):
        while True:
            line = self.rfile.readline(1024)
            try:
                n = int(line.split(b';')[0].strip() or b'0', 16)
            except ValueError:
                return
            if n == 0:
                self.rfile.readline(1024)
                return
            self.rfile.read(n + 2)

    def handle_upload(self, st, ev):
        if self.path.rstrip('/') != '/upload':
            ev['status'] = 404
            return self.reply(404, {'error': 'no such endpoint'})
        if ev['transfer_encoding'] or ev['content_length'] is None:
            # Drain a chunked body first: closing on unread data would reset
            # the connection before the client reads this answer.
            if (ev['transfer_encoding'] or '').lower() == 'chunked':
                self.drain_chunked()
            ev['status'] = 411
            self.close_connection = True
            return self.reply(411, {'error': 'Content-Length required'})
        body = self.rfile.read(int(ev['content_length']))
        if st.cfg.get('token') != self.headers.get('Auth-Token'):
            ev['token_ok'] = False
            ev['status'] = 403
            return self.reply(403, {'error': 'API Token not matched'})
        ev['token_ok'] = True
        if st.cfg.get('delay'):
            # Hold every request a while so concurrent posts overlap here.
            time.sleep(float(st.cfg['delay']))
            with st.lock:
                ev['inflight'] = max(ev['inflight'], st.inflight)
        fault = st.next_fault()
        if fault:
            ev['fault'] = fault
            if fault.get('drop'):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if 'slow' in fault:
                time.sleep(float(fault['slow']))
                ev['status'] = 504
                try:
                    self.reply(504, {'error': 'too slow'})
                except OSError:
                    pass
                return
            if 'html' in fault:
                # Something that is not Tecken (a proxy, a login page) saying 200.
                body = fault['html'].encode()
                ev['status'] = fault['status']
                self.send_response(fault['status'])
                self.send_header('Content-Type', 'text/html')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            extra = {}
            if 'retry_after' in fault:
                extra['Retry-After'] = str(fault['retry_after'])
            error = fault.get('error', 'injected fault')
            if fault.get('echo_token'):
                # A careless server quoting the token back, in body and header.
                error += ' (token %s)' % st.cfg.get('token')
                extra['X-Seen-Token'] = st.cfg.get('token')
            ev['status'] = fault['status']
            return self.reply(fault['status'], {'error': error}, extra)
        try:
            parts = parse_multipart(self.headers.get('Content-Type', ''), body)
        except ValueError as e:
            ev['status'] = 400
            return self.reply(400, {'error': 'bad multipart: %s' % e})
        ev['fields'] = [p[0] for p in parts]
        files = [p for p in parts if p[0] != 'try']
        ev['try'] = any(p[0] == 'try' for p in parts)
        if len(files) != 1:
            ev['status'] = 400
            return self.reply(400, {'error': 'Expected exactly one file'})
        name, _, data = files[0]
        ev['archive'] = name
        ev['archive_size'] = len(data)
        if not name or not name.lower().endswith('.zip'):
            ev['status'] = 400
            return self.reply(400, {'error': 'Must be a .zip file'})
        if st.cfg.get('max_zip') and len(data) > st.cfg['max_zip']:
            ev['status'] = 413
            return self.reply(413, {'error': 'Upload too large'})
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
            members = [(i.filename, i.compress_type, zf.read(i)) for i in infos]
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            ev['status'] = 400
            return self.reply(400, {'error': 'Not a valid zip: %s' % e})
        ev['members'] = [m[0] for m in members]
        ev['compression'] = sorted({m[1] for m in members})
        for fn, _, _ in members:
            comps = fn.split('/')
            if len(comps) == 1 and fn.endswith('-symbols.txt'):
                continue
            if len(comps) != 3 or not all(safe_component(c) for c in comps):
                ev['status'] = 400
                return self.reply(400, {'error': 'Unrecognized file pattern %s' % fn})
        skipped, arrived = [], []
        with st.lock:
            for fn, _, content in members:
                if '/' not in fn:
                    continue
                if fn in st.existing:
                    skipped.append('v1/' + fn)
                    continue
                st.existing.add(fn)
                st.put(fn, content)
                arrived.append({'key': fn, 'sha256': hashlib.sha256(content).hexdigest(),
                                'size': len(content)})
            st.uploads += 1
            upload_id = st.uploads
        ev['arrived'] = arrived
        ev['skipped'] = skipped
        ev['status'] = 201
        self.reply(201, {'upload': {'id': upload_id, 'filename': name, 'size': len(data),
                                    'skipped_keys': skipped, 'try_symbols': ev['try']}})


def main():
    cfg = json.load(open(sys.argv[1]))
    Handler.state = State(cfg)
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.daemon_threads = True
    tmp = cfg['port_file'] + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, cfg['port_file'])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
