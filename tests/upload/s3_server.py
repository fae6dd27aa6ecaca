#!/usr/bin/env python3
"""A small S3-compatible server for the tests (python3 standard library only).

usage: s3_server.py CONFIG.json

It checks every request's AWS Signature V4 on its own -- canonical request,
string to sign, signing key, all computed here with hmac/hashlib, never by
libcurl -- and the x-amz-content-sha256 header against the body, then
stores objects in memory (PUT, multipart create/part/complete/abort, HEAD,
GET).  It injects faults on demand:

  {"kind": "slowdown", "count": N, "method": "PUT", "part": true}
        503 SlowDown for the first N matching requests (body read first)
  {"kind": "status", "status": 500, "code": "InternalError", "count": N, ...}
  {"kind": "drop", "count": N, "part": true}
        read half of the body, then close the connection without a reply
  {"kind": "complete_error", "count": N}
        200 with an <Error> body on "complete multipart upload" (S3 does that)
  {"kind": "random", "seed": S, "slowdown": p, "drop": p, "status500": p,
   "method": "PUT"}
        each matching request draws a fault with these probabilities

A wrong secret, an unknown access key or a clock skew ("skew": seconds the
server's clock is ahead) give S3's real 403 replies.  Every request is one
JSON line in log_file; every object that becomes visible is a "stored" event
with the SHA-256 of its body and of its gzip-decoded content.
"""
import datetime
import gzip
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid

CFG = {}
LOCK = threading.Lock()
OBJECTS = {}   # (bucket, key) -> {"body": bytes, "headers": {name: value}}
UPLOADS = {}   # upload id -> {"bucket", "key", "headers", "parts": {n: (etag, bytes)}}
FAULTS = []
RNG = None
LOG = None


def log(event):
    with LOCK:
        LOG.write(json.dumps(event, sort_keys=True) + '\n')
        LOG.flush()


def uri_encode(b, slash_ok=False):
    safe = b'-_.~' + (b'/' if slash_ok else b'')
    out = []
    for c in b:
        ch = bytes([c])
        if ch.isalnum() and c < 128 or ch in safe:
            out.append(ch.decode())
        else:
            out.append('%%%02X' % c)
    return ''.join(out)


def canonical_uri(raw_path):
    segs = raw_path.split('/')
    return '/'.join(uri_encode(urllib.parse.unquote_to_bytes(s)) for s in segs)


def canonical_query(raw_query):
    if not raw_query:
        return ''
    pairs = []
    for item in raw_query.split('&'):
        if not item:
            continue
        k, _, v = item.partition('=')
        pairs.append((uri_encode(urllib.parse.unquote_to_bytes(k)),
                      uri_encode(urllib.parse.unquote_to_bytes(v))))
    pairs.sort()
    return '&'.join('%s=%s' % kv for kv in pairs)


def signing_key(secret, date, region, service):
    k = hmac.new(('AWS4' + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b'aws4_request', hashlib.sha256).digest()


AUTH_RE = re.compile(r'^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/'
                     r'aws4_request,\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$')


class SigError(Exception):
    def __init__(self, status, code, message):
        Exception.__init__(self, message)
        self.status, self.code, self.message = status, code, message


def verify_signature(method, raw_path, raw_query, headers, body):
    """Raises SigError unless the request is signed as S3 wants it."""
    auth = headers.get('Authorization')
    if not auth:
        raise SigError(403, 'AccessDenied', 'Anonymous access is not allowed')
    m = AUTH_RE.match(auth)
    if not m:
        raise SigError(400, 'AuthorizationHeaderMalformed', 'malformed Authorization header')
    akid, date, region, service, signed, sig = m.groups()
    if akid != CFG['access_key']:
        raise SigError(403, 'InvalidAccessKeyId',
                       'The AWS Access Key Id you provided does not exist in our records.')
    if service != 's3':
        raise SigError(400, 'AuthorizationHeaderMalformed', 'service is %r, not s3' % service)
    if region != CFG.get('region', 'us-east-1'):
        raise SigError(400, 'AuthorizationHeaderMalformed',
                       "the region '%s' is wrong; expecting '%s'" % (region, CFG.get('region')))
    amz_date = headers.get('x-amz-date', '')
    try:
        t = datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise SigError(403, 'AccessDenied', 'x-amz-date missing or malformed')
    if not amz_date.startswith(date):
        raise SigError(403, 'SignatureDoesNotMatch', 'credential date differs from x-amz-date')
    server_now = time.time() + CFG.get('skew', 0)
    if abs(server_now - t) > 15 * 60:
        raise SigError(403, 'RequestTimeTooSkewed',
                       'The difference between the request time and the current time is too large.')
    names = signed.split(';')
    if names != sorted(names):
        raise SigError(403, 'SignatureDoesNotMatch', 'SignedHeaders not sorted')
    for need in ('host', 'x-amz-date', 'x-amz-content-sha256'):
        if need not in names:
            raise SigError(403, 'AccessDenied', '%s is not signed' % need)
    for h in headers.keys():
        if h.lower().startswith('x-amz-') and h.lower() not in names:
            raise SigError(403, 'AccessDenied', 'header %s is not signed' % h.lower())
    token = CFG.get('session_token')
    if token is not None:
        if headers.get('x-amz-security-token') != token:
            raise SigError(403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.')
    payload = headers.get('x-amz-content-sha256')
    if payload is None:
        raise SigError(400, 'InvalidRequest', 'Missing required header x-amz-content-sha256')
    if payload != 'UNSIGNED-PAYLOAD' and payload != hashlib.sha256(body).hexdigest():
        raise SigError(400, 'XAmzContentSHA256Mismatch',
                       "The provided 'x-amz-content-sha256' header does not match what was computed.")
    canon_headers = ''
    for n in names:
        vals = headers.get_all(n) or []
        v = ','.join(' '.join(x.strip().split()) for x in vals)
        canon_headers += '%s:%s\n' % (n, v)
    creq = '\n'.join([method, canonical_uri(raw_path), canonical_query(raw_query),
                      canon_headers, signed, payload])
    scope = '%s/%s/%s/aws4_request' % (date, region, service)
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    want = hmac.new(signing_key(CFG['secret_key'], date, region, service), sts.encode(),
                    hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        raise SigError(403, 'SignatureDoesNotMatch',
                       'The request signature we calculated does not match the signature you '
                       'provided. Check your key and signing method.')


def decoded_sha(body, encoding):
    data = body
    if encoding and encoding.lower() == 'gzip':
        try:
            data = gzip.decompress(body)
        except Exception:
            return 'not-gzip'
    return hashlib.sha256(data).hexdigest()


def pick_fault(method, is_part, is_complete):
    with LOCK:
        for f in FAULTS:
            if f.get('method') and f['method'] != method:
                continue
            if f.get('part') and not is_part:
                continue
            kind = f['kind']
            if kind == 'complete_error' and not is_complete:
                continue
            if kind == 'random':
                r = RNG.random()
                acc = 0
                for name in ('slowdown', 'drop', 'status500'):
                    acc += f.get(name, 0)
                    if r < acc:
                        return {'kind': name if name != 'status500' else 'status',
                                'status': 500, 'code': 'InternalError'}
                continue
            if f.get('count', 0) > 0:
                f['count'] -= 1
                return f
    return None


def xml_error(code, message, extra=''):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '%s<RequestId>test</RequestId></Error>' % (code, message, extra)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b'', headers=None, head=False):
        self.send_response(status)
        hdrs = dict(headers or {})
        if body and 'Content-Type' not in hdrs:
            hdrs['Content-Type'] = 'application/xml'
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def split_target(self):
        raw_path, _, raw_query = self.path.partition('?')
        host = self.headers.get('Host', '')
        hostname = host.rsplit(':', 1)[0] if not host.startswith('[') else host
        vsuffix = '.localhost'
        if hostname.endswith(vsuffix) and len(hostname) > len(vsuffix):
            bucket = hostname[:-len(vsuffix)]
            key = urllib.parse.unquote(raw_path[1:])
            style = 'virtual'
        else:
            parts = raw_path[1:].split('/', 1)
            bucket = urllib.parse.unquote(parts[0])
            key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ''
            style = 'path'
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        return raw_path, raw_query, bucket, key, query, style

    def handle_any(self, method):
        raw_path, raw_query, bucket, key, query, style = self.split_target()
        ev = {'method': method, 'bucket': bucket, 'key': key, 'query': raw_query,
              'style': style, 'user_agent': self.headers.get('User-Agent'),
              'content_length': self.headers.get('Content-Length'),
              'transfer_encoding': self.headers.get('Transfer-Encoding')}
        is_part = method == 'PUT' and 'partNumber' in query
        is_complete = method == 'POST' and 'uploadId' in query
        length = self.headers.get('Content-Length')
        if self.headers.get('Transfer-Encoding') and method in ('PUT', 'POST'):
            ev['status'] = 411
            log(ev)
            self.close_connection = True
            return self.reply(411, xml_error('MissingContentLength', 'chunked bodies refused'))
        n = int(length) if length else 0
        fault = pick_fault(method, is_part, is_complete) if method != 'HEAD' and method != 'GET' \
            else pick_fault(method, False, False) if CFG.get('fault_reads') else None
        if fault and fault['kind'] == 'drop':
            # Half of the body, then the connection goes away: a crash mid-part.
            self.rfile.read(n // 2)
            ev['status'] = 'dropped'
            ev['fault'] = 'drop'
            log(ev)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        body = self.rfile.read(n) if n else b''
        try:
            verify_signature(method, raw_path, raw_query, self.headers, body)
        except SigError as e:
            ev['status'] = e.status
            ev['code'] = e.code
            log(ev)
            return self.reply(e.status, xml_error(e.code, e.message), head=method == 'HEAD')
        if fault:
            ev['fault'] = fault['kind']
            if fault['kind'] == 'slowdown':
                ev['status'] = 503
                log(ev)
                return self.reply(503, xml_error('SlowDown', 'Please reduce your request rate.'))
            if fault['kind'] == 'status':
                ev['status'] = fault.get('status', 500)
                log(ev)
                return self.reply(ev['status'], xml_error(fault.get('code', 'InternalError'),
                                                          'injected fault'))
        if bucket not in CFG.get('buckets', []):
            ev['status'] = 404
            log(ev)
            return self.reply(404, xml_error('NoSuchBucket', 'The specified bucket does not exist',
                                             '<BucketName>%s</BucketName>' % bucket),
                              head=method == 'HEAD')
        status, rbody, rheaders = self.operate(method, bucket, key, query, body, ev, fault)
        ev['status'] = status
        log(ev)
        self.reply(status, rbody, rheaders, head=method == 'HEAD')

    def object_headers(self):
        h = {}
        for name in ('Content-Type', 'Content-Encoding'):
            if self.headers.get(name):
                h[name] = self.headers.get(name)
        for name, v in self.headers.items():
            if name.lower().startswith('x-amz-meta-'):
                h[name.lower()] = v
        return h

    def store(self, bucket, key, body, headers, multipart, ev):
        etag = '"%s"' % hashlib.md5(body).hexdigest()
        with LOCK:
            OBJECTS[(bucket, key)] = {'body': body, 'headers': dict(headers, ETag=etag)}
        log({'event': 'stored', 'bucket': bucket, 'key': key, 'size': len(body),
             'sha256': hashlib.sha256(body).hexdigest(),
             'decoded_sha256': decoded_sha(body, headers.get('Content-Encoding')),
             'content_encoding': headers.get('Content-Encoding'),
             'content_type': headers.get('Content-Type'),
             'meta': {k: v for k, v in headers.items() if k.startswith('x-amz-meta-')},
             'multipart': multipart})
        return etag

    def operate(self, method, bucket, key, query, body, ev, fault):
        if method == 'PUT' and 'partNumber' in query:
            uid = query.get('uploadId', [''])[0]
            with LOCK:
                up = UPLOADS.get(uid)
            if not up or up['key'] != key:
                return 404, xml_error('NoSuchUpload', 'The specified upload does not exist.'), {}
            num = int(query['partNumber'][0])
            if not 1 <= num <= 10000:
                return 400, xml_error('InvalidArgument', 'bad part number'), {}
            etag = '"%s"' % hashlib.md5(body).hexdigest()
            with LOCK:
                up['parts'][num] = (etag, body)
            ev['part'] = num
            ev['part_size'] = len(body)
            return 200, b'', {'ETag': etag}
        if method == 'PUT':
            if not key:
                return 400, xml_error('InvalidRequest', 'no key'), {}
            etag = self.store(bucket, key, body, self.object_headers(), False, ev)
            return 200, b'', {'ETag': etag}
        if method == 'POST' and 'uploads' in query:
            uid = uuid.uuid4().hex + '.~_-' + str(len(UPLOADS))
            with LOCK:
                UPLOADS[uid] = {'bucket': bucket, 'key': key, 'headers': self.object_headers(),
                                'parts': {}}
            log({'event': 'created', 'upload_id': uid, 'key': key})
            return 200, ('<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult>'
                         '<Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId>'
                         '</InitiateMultipartUploadResult>' % (bucket, key, uid)).encode(), {}
        if method == 'POST' and 'uploadId' in query:
            uid = query['uploadId'][0]
            with LOCK:
                up = UPLOADS.get(uid)
            if not up or up['key'] != key:
                return 404, xml_error('NoSuchUpload', 'The specified upload does not exist.'), {}
            if fault and fault['kind'] == 'complete_error':
                ev['fault'] = 'complete_error'
                return 200, xml_error('InternalError', 'We encountered an internal error.'), {}
            text = body.decode('utf-8', 'replace')
            listed = re.findall(r'<Part><PartNumber>(\d+)</PartNumber><ETag>([^<]*)</ETag></Part>',
                                text)
            if not listed:
                return 400, xml_error('MalformedXML', 'no parts'), {}
            nums = [int(n) for n, _ in listed]
            if nums != sorted(nums) or len(set(nums)) != len(nums):
                return 400, xml_error('InvalidPartOrder', 'parts out of order'), {}
            pieces = []
            min_part = CFG.get('min_part', 5 << 20)
            for i, (n, etag) in enumerate(listed):
                got = up['parts'].get(int(n))
                etag = etag.replace('&quot;', '"')
                if not got or got[0] != etag:
                    return 400, xml_error('InvalidPart', 'part %s missing or ETag differs' % n), {}
                if i < len(listed) - 1 and len(got[1]) < min_part:
                    return 400, xml_error('EntityTooSmall', 'part %s is too small' % n), {}
                pieces.append(got[1])
            with LOCK:
                UPLOADS.pop(uid, None)
            self.store(bucket, key, b''.join(pieces), up['headers'], True, ev)
            log({'event': 'completed', 'upload_id': uid, 'key': key, 'parts': len(listed)})
            return 200, ('<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult>'
                         '<Key>%s</Key><ETag>"x-%d"</ETag></CompleteMultipartUploadResult>'
                         % (key, len(listed))).encode(), {}
        if method == 'DELETE' and 'uploadId' in query:
            uid = query['uploadId'][0]
            with LOCK:
                up = UPLOADS.pop(uid, None)
            if not up:
                return 404, xml_error('NoSuchUpload', 'The specified upload does not exist.'), {}
            log({'event': 'aborted', 'upload_id': uid, 'key': key})
            return 204, b'', {}
        if method in ('GET', 'HEAD'):
            with LOCK:
                o = OBJECTS.get((bucket, key))
            if not o:
                return 404, xml_error('NoSuchKey', 'The specified key does not exist.'), {}
            if method == 'HEAD':
                # Content-Length of the object, no body.
                self.send_response(200)
                for k, v in o['headers'].items():
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(o['body'])))
                self.end_headers()
                ev['status'] = 200
                log(ev)
                raise Handled()
            return 200, o['body'], o['headers']
        return 405, xml_error('MethodNotAllowed', 'not supported here'), {}

    def run(self, method):
        try:
            self.handle_any(method)
        except Handled:
            pass
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_PUT(self):
        self.run('PUT')

    def do_POST(self):
        self.run('POST')

    def do_GET(self):
        self.run('GET')

    def do_HEAD(self):
        self.run('HEAD')

    def do_DELETE(self):
        self.run('DELETE')


class Handled(Exception):
    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    global CFG, FAULTS, RNG, LOG
    with open(sys.argv[1]) as f:
        CFG = json.load(f)
    FAULTS = CFG.get('faults', [])
    RNG = random.Random(next((f.get('seed', 1) for f in FAULTS if f['kind'] == 'random'), 1))
    LOG = open(CFG['log_file'], 'a')
    srv = Server(('127.0.0.1', 0), Handler)
    tmp = CFG['port_file'] + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, CFG['port_file'])
    # Stops by itself: a test that forgets it cannot leave it running.
    t = threading.Timer(CFG.get('lifetime', 900), lambda: os._exit(3))
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == '__main__':
    main()
