#!/usr/bin/python3
"""Generates SigV4 test vectors for tests/unit/test_sigv4.c with botocore.

Run with Debian's /usr/bin/python3 (python3-botocore). Prints C initialisers
for `struct vec` on stdout; with --corpus DIR also writes fuzz seeds for
tests/fuzz/fuzz_sigv4.c (layout: method, path, query, "Name: value" lines,
an empty line, then the body). The timestamp is pinned so the output is
reproducible; signatures listed in PUBLISHED are cross-checked against the
AWS SigV4 test suite and the result is noted in the output. --crt-check
re-signs the header-form vectors from their wire form with awscrt.
"""
import calendar
import datetime
import hashlib
import os
import sys
from urllib.parse import urlsplit

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SUITE_TS = datetime.datetime(2015, 8, 30, 12, 36, 0)
EC2_TS = datetime.datetime(2024, 5, 1, 10, 20, 30)
SUITE_CREDS = ('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')
EC2_CREDS = ('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
EC2_TOKEN = ('IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ'
             'Dv+a/b=c+d==')
SUITE_TOKEN = (
    'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW'
    'LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQ'
    'rmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9H'
    'FvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+sc'
    'qKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==')

# Signatures from the published aws-sig-v4-test-suite (2015-08-30).
PUBLISHED = {
    'get-vanilla': '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    'get-vanilla-query-order-key-case': 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    'get-vanilla-utf8-query': '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04',
    'get-header-key-duplicate': 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
    'get-header-value-trim': 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
    'get-header-value-order': '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01',
    'get-relative-relative': '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    'get-slash-dot-slash': '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    'get-slashes': '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84',
    'get-space': '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741',
    'get-utf8': '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85',
    'post-vanilla': '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    'post-vanilla-query': '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    'post-x-www-form-urlencoded': 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    'post-x-www-form-urlencoded-parameters': '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
    'post-sts-header-before': '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
}


class _Frozen(datetime.datetime):
    now_value = SUITE_TS

    @classmethod
    def utcnow(cls):
        return cls.now_value


class _DatetimeShim:
    pass


_DatetimeShim.datetime = _Frozen
_DatetimeShim.timezone = datetime.timezone


# Pin the signing time in botocore's signer and in the awscrt-backed one
# (the EC2 client uses the latter when python3-awscrt is installed).
botocore.auth.datetime = _DatetimeShim
try:
    import botocore.crt.auth
    botocore.crt.auth.datetime = _DatetimeShim
except ImportError:
    pass


def epoch(ts):
    return calendar.timegm(ts.timetuple())


def sign(name, ts, creds, service, method, url, *, headers=(), params=None,
         data=None, token=None, presign=None, unsigned=False, note=''):
    _Frozen.now_value = ts
    req = AWSRequest(method=method, url=url, data=data, params=params or {})
    req.headers['Host'] = urlsplit(url).netloc
    for k, v in headers:
        req.headers[k] = v  # HTTPHeaders appends, so duplicates survive
    if unsigned:
        req.context['payload_signing_enabled'] = False
    cred = Credentials(creds[0], creds[1], token)
    if presign is not None:
        signer = botocore.auth.SigV4QueryAuth(cred, service, 'us-east-1', expires=presign)
    else:
        signer = botocore.auth.SigV4Auth(cred, service, 'us-east-1')
    signer.add_auth(req)
    prep = req.prepare()
    parts = urlsplit(prep.url)
    body = prep.body or b''
    if isinstance(body, str):
        body = body.encode()
    # The signed AWSRequest keeps repeated headers; prepare() would fold them.
    hdrs = list(req.headers.items())
    if presign is not None:
        sig = parts.query.rsplit('X-Amz-Signature=', 1)[1]
    else:
        sig = prep.headers['Authorization'].rsplit('Signature=', 1)[1]
    return dict(name=name, method=method, path=parts.path, query=parts.query,
                headers=hdrs, body=body, secret=creds[1], service=service,
                now=epoch(ts), sig=sig, token=token, note=note)


def client_capture():
    """A real botocore EC2 client call, captured before it is sent."""
    _Frozen.now_value = EC2_TS
    captured = {}

    class Stop(Exception):
        pass

    def grab(request, **kwargs):
        captured['req'] = request
        raise Stop()

    sess = botocore.session.get_session()
    client = sess.create_client('ec2', region_name='us-east-1',
                                aws_access_key_id=EC2_CREDS[0],
                                aws_secret_access_key=EC2_CREDS[1])
    client.meta.events.register('before-send.ec2.*', grab)
    try:
        client.describe_regions(RegionNames=['us-east-1', 'eu-west-1'])
    except Stop:
        pass
    prep = captured['req']
    parts = urlsplit(prep.url)
    body = prep.body or b''
    if isinstance(body, str):
        body = body.encode()
    hdrs = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prep.headers.items()]
    # Unsigned and different on every run or machine: pin them for a stable file.
    pinned = {'amz-sdk-invocation-id': '00000000-0000-4000-8000-000000000000',
              'user-agent': 'Botocore/%s' % botocore.__version__}
    hdrs = [(k, pinned.get(k.lower(), v)) for k, v in hdrs]
    if not any(k.lower() == 'host' for k, _ in hdrs):
        hdrs.insert(0, ('Host', parts.netloc))
    sig = dict(hdrs)['Authorization'].rsplit('Signature=', 1)[1]
    return dict(name='ec2-client-describe-regions', method=prep.method,
                path=parts.path or '/', query=parts.query, headers=hdrs,
                body=body, secret=EC2_CREDS[1], service='ec2', now=epoch(EC2_TS),
                sig=sig, token=None, note='botocore ec2 client, as sent')


def suite():
    u = 'https://example.amazonaws.com'
    unres = '-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'
    form = ('Content-Type', 'application/x-www-form-urlencoded')
    s = lambda name, method, url, **kw: sign(name, SUITE_TS, SUITE_CREDS, 'service', method, url, **kw)
    return [
        s('get-vanilla', 'GET', u + '/'),
        s('get-vanilla-query-order-key-case', 'GET', u + '/',
          params=[('Param2', 'value2'), ('Param1', 'value1')]),
        s('get-vanilla-query-unreserved', 'GET', u + '/', params=[(unres, unres)]),
        s('get-vanilla-utf8-query', 'GET', u + '/', params=[('\u1234', 'bar')]),
        s('get-header-key-duplicate', 'GET', u + '/',
          headers=[('My-Header1', 'value2'), ('My-Header1', 'value2'), ('My-Header1', 'value1')]),
        s('get-header-value-trim', 'GET', u + '/',
          headers=[('My-Header1', ' value1'), ('My-Header2', ' "a   b   c"')]),
        s('get-header-value-order', 'GET', u + '/',
          headers=[('My-Header1', 'value4'), ('My-Header1', 'value1'),
                   ('My-Header1', 'value3'), ('My-Header1', 'value2')]),
        s('get-relative-relative', 'GET', u + '/example1/example2/../..'),
        s('get-slash-dot-slash', 'GET', u + '/./'),
        s('get-slashes', 'GET', u + '//example//'),
        s('get-space', 'GET', u + '/example space/'),
        s('get-utf8', 'GET', u + '/\u1234'),
        s('get-unreserved', 'GET', u + '/' + unres),
        s('post-vanilla', 'POST', u + '/'),
        s('post-vanilla-query', 'POST', u + '/', params=[('Param1', 'value1')]),
        s('post-x-www-form-urlencoded', 'POST', u + '/', headers=[form], data=b'Param1=value1'),
        s('post-x-www-form-urlencoded-parameters', 'POST', u + '/',
          headers=[('Content-Type', 'application/x-www-form-urlencoded; charset=utf8')],
          data=b'Param1=value1'),
        s('post-sts-header-before', 'POST', u + '/', token=SUITE_TOKEN),
    ]


def ec2():
    u = 'https://ec2.us-east-1.amazonaws.com'
    form = ('Content-Type', 'application/x-www-form-urlencoded; charset=utf-8')
    body = b'Action=DescribeRegions&Version=2016-11-15'
    params = [('Action', 'DescribeInstances'), ('Filter.1.Name', 'tag:Name'),
              ('Filter.1.Value.1', 'my instance ~*/\u00e9\u2603'),
              ('Filter.1.Value.2', 'a+b=c&d;e'), ('Version', '2016-11-15')]
    e = lambda name, method, url, **kw: sign(name, EC2_TS, EC2_CREDS, 'ec2', method, url, **kw)
    return [
        e('ec2-post-describe-regions', 'POST', u + '/', headers=[form], data=body,
          note='SigV4Auth, form body'),
        e('ec2-get-params-token', 'GET', u + '/', params=params, token=EC2_TOKEN,
          note='SigV4Auth, GET, session token header; wire query uses + for spaces'),
        e('ec2-presign-get', 'GET', u + '/', params=params, token=EC2_TOKEN, presign=300,
          note='SigV4QueryAuth, expires 300'),
        e('ec2-presign-body-moved', 'GET', u + '/',
          data={'Action': 'DescribeRegions', 'Version': '2016-11-15'}, presign=3600,
          note='SigV4QueryAuth moves form params into the query'),
        e('ec2-post-extra-headers', 'POST', u + '/',
          headers=[form, ('X-Amz-Content-SHA256', hashlib.sha256(body).hexdigest()),
                   ('X-Custom', '  a   b '), ('X-Custom', 'c\t d'),
                   ('Content-Length', str(len(body))), ('User-Agent', 'not signed/1.0')],
          data=body, note='content-sha256, repeated header, user-agent unsigned'),
        e('ec2-post-date-header', 'POST', u + '/', headers=[form, ('Date', 'x')], data=body,
          note='Date header instead of X-Amz-Date'),
        e('ec2-get-unsigned-payload', 'GET', u + '/', params=[('Action', 'DescribeRegions'),
          ('Version', '2016-11-15')], unsigned=True, note='UNSIGNED-PAYLOAD, empty body'),
        client_capture(),
    ]


def crt_check(vecs):
    """Re-signs each header-form vector from its wire form with awscrt
    (aws-c-auth, an independent signer) and reports agreement."""
    import io
    import awscrt.auth
    import awscrt.http
    for v in vecs:
        hd = {k.lower(): val for k, val in v['headers']}
        if 'authorization' not in hd:
            continue
        signed = hd['authorization'].split('SignedHeaders=')[1].split(',')[0].split(';')
        if 'date' in signed:
            continue  # awscrt always signs with X-Amz-Date
        own = ('x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256')
        hdrs = [(k, val) for k, val in v['headers'] if k.lower() in signed and k.lower() not in own]
        path = v['path'] + ('?' + v['query'] if v['query'] else '')
        req = awscrt.http.HttpRequest(method=v['method'], path=path,
                                      headers=awscrt.http.HttpHeaders(hdrs),
                                      body_stream=io.BytesIO(v['body']) if v['body'] else None)
        akid = EC2_CREDS[0] if v['service'] == 'ec2' else SUITE_CREDS[0]
        sha = hd.get('x-amz-content-sha256')
        cfg = awscrt.auth.AwsSigningConfig(
            algorithm=awscrt.auth.AwsSigningAlgorithm.V4,
            signature_type=awscrt.auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=awscrt.auth.AwsCredentialsProvider.new_static(
                akid, v['secret'], session_token=v['token']),
            region='us-east-1', service=v['service'],
            date=datetime.datetime.fromtimestamp(v['now'], datetime.timezone.utc),
            use_double_uri_encode=True, should_normalize_uri_path=True,
            signed_body_value=sha,
            signed_body_header_type=(awscrt.auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
                                     if sha else awscrt.auth.AwsSignedBodyHeaderType.NONE),
            should_sign_header=lambda name, **kw: name.lower() in signed)
        awscrt.auth.aws_sign_request(req, cfg).result()
        ok = dict(req.headers)['Authorization'].endswith(v['sig'])
        print('%-40s %s' % (v['name'], 'awscrt agrees' if ok else 'awscrt differs'))


def c_str(b):
    if isinstance(b, str):
        b = b.encode('utf-8')
    out = []
    for c in b:
        ch = chr(c)
        if ch in '"\\?':
            out.append('\\' + ch)
        elif 0x20 <= c < 0x7f:
            out.append(ch)
        else:
            out.append('\\%03o' % c)
    return '"' + ''.join(out) + '"'


def emit(vecs):
    print('/* Generated by tests/unit/gen_sigv4_vectors.py (botocore %s); do not edit. */'
          % botocore.__version__)
    for v in vecs:
        pub = PUBLISHED.get(v['name'])
        if pub is None:
            note = v['note'] or 'botocore'
        elif pub == v['sig']:
            note = 'AWS test suite signature, reproduced by botocore'
        else:
            note = 'botocore (differs from the remembered test-suite value)'
            print('warning: %s: botocore %s != remembered %s' % (v['name'], v['sig'], pub),
                  file=sys.stderr)
        print('{ /* %s: %s */' % (v['name'], note))
        print('\t.name = %s, .method = %s, .path = %s,' % (c_str(v['name']), c_str(v['method']), c_str(v['path'])))
        print('\t.query = %s,' % c_str(v['query']))
        print('\t.headers = {')
        for k, val in v['headers']:
            print('\t\t{ %s, %s },' % (c_str(k), c_str(val)))
        print('\t},')
        print('\t.nheaders = %d,' % len(v['headers']))
        print('\t.body = %s, .body_len = %d,' % (c_str(v['body']), len(v['body'])))
        print('\t.secret = %s, .service = %s, .now = %d,' % (c_str(v['secret']), c_str(v['service']), v['now']))
        print('\t.signature = %s,' % c_str(v['sig']))
        print('\t.token = %s,' % (c_str(v['token']) if v['token'] else 'NULL'))
        print('},')


def corpus(vecs, d):
    os.makedirs(d, exist_ok=True)
    for v in vecs:
        lines = [v['method'], v['path'], v['query']] + ['%s: %s' % kv for kv in v['headers']]
        data = ('\n'.join(lines) + '\n\n').encode('utf-8') + v['body']
        with open(os.path.join(d, v['name']), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    vecs = suite() + ec2()
    if len(sys.argv) == 3 and sys.argv[1] == '--corpus':
        corpus([v for v in vecs if v['service'] == 'ec2'], sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == '--crt-check':
        crt_check(vecs)
    else:
        emit(vecs)
