"""SPEC 2.8 from the client's side, with Python's own ssl and zlib: a
certificate made at run time by the `openssl` command, and a Client that
upgrades its socket after IDENTIFY's reply as a device would."""

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import zlib

from .harness import Client, FRAME_RESPONSE, new_id


def make_cert(label):
    """(directory, cert.pem, key.pem): a self-signed P-256 certificate for
    127.0.0.1 and localhost, valid one day. The caller removes the directory."""
    d = tempfile.mkdtemp(prefix="pg-tls-%s-" % label)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return d, cert, key


def remove_cert(d):
    shutil.rmtree(d, ignore_errors=True)


def class_cert(cls):
    """(cert.pem, key.pem) made for a test class, removed with it."""
    d, cert, key = make_cert(cls.__name__)
    cls.own(d, stop=lambda: remove_cert(d), kill=lambda: remove_cert(d))
    return cert, key


class LayeredClient(Client):
    """A Client whose bytes go through TLS and/or raw deflate once granted."""

    def connect(self):
        self.zin = self.zout = None
        return super().connect()

    def send_raw(self, data):
        if self.zout is not None:
            data = self.zout.compress(data) + self.zout.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def decode_in(self, chunk):
        return self.zin.decompress(chunk) if self.zin is not None else chunk

    def identify_layers(self, client_id, tls=False, deflate=False, cafile=None,
                        timeout=None, **fields):
        """IDENTIFY asking for tls_v1/deflate; returns the reply's JSON, with
        the socket upgraded as granted (TLS first). The next frame is then
        the OK inside the layers."""
        if tls:
            fields["tls_v1"] = True
        if deflate:
            fields["deflate"] = True
        ftype, data = self.identify(client_id, timeout=timeout, **fields)
        if ftype != FRAME_RESPONSE:
            raise AssertionError("IDENTIFY refused: %r" % (data,))
        granted = json.loads(data)
        self.upgrade(granted.get("tls_v1"), granted.get("deflate_level", 0)
                     if granted.get("deflate") else 0, cafile)
        return granted

    def upgrade(self, tls, level, cafile=None):
        rest, self.buf = self.buf, b""
        if tls:
            assert not rest, "bytes in clear after the reply: %r" % rest
            # Not create_default_context: loading the system's CA store takes
            # longer than the whole handshake.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if cafile is None:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx.load_verify_locations(cafile)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        if level:
            self.zin = zlib.decompressobj(-15)
            self.zout = zlib.compressobj(level, zlib.DEFLATED, -15)
            self.buf = self.zin.decompress(rest)
        else:
            self.buf = rest


def layered(test, broker, client_id=None, tls=False, deflate=False, cafile=None, **fields):
    """A LayeredClient of test (closed after it), identified with the layers
    asked for and its OK read; returns (client, granted)."""
    c = LayeredClient(broker.tcp).connect()
    test.addCleanup(c.close)
    c.send_magic()
    cid = client_id if client_id is not None else new_id()
    granted = c.identify_layers(cid, tls=tls, deflate=deflate, cafile=cafile, **fields)
    if granted.get("tls_v1") or granted.get("deflate"):
        test.expect_ok(c)
    return c, granted
