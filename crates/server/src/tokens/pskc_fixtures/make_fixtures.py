#!/usr/bin/python3
"""Writes the python-pskc fixtures for tokens/pskc.rs's tests.

Run by hand with Debian's python3-pskc (1.2) installed:
    cd crates/server/src/tokens/pskc_fixtures && /usr/bin/python3 make_fixtures.py
The IVs and MAC keys are random, so the output differs on every run; the Rust tests only
check what these files were given (secrets, counters, digits, periods, serials, keys);
they do not need Python.
"""

import binascii

import pskc

HOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:hotp'
TOTP = 'urn:ietf:params:xml:ns:keyprov:pskc:totp'
# 20 and 32 bytes: what real HOTP (SHA-1) and TOTP (SHA-256) fobs carry.
HOTP_SECRET = binascii.a2b_hex('a1b2c3d4e5f60718293a4b5c6d7e8f9001122334')
TOTP_SECRET = binascii.a2b_hex(
    '00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210')
PRESHARED_KEY = binascii.a2b_hex('f00dfeedc0ffee0123456789abcdef42')
PASSWORD = 'correct horse battery staple'


def container():
    p = pskc.PSKC()
    p.add_key(
        id='hotp-1', serial='HOTP0001', manufacturer='python-pskc',
        algorithm=HOTP, response_length=6, response_encoding='DECIMAL',
        secret=HOTP_SECRET, counter=5)
    p.add_key(
        id='totp-1', serial='TOTP0001', manufacturer='python-pskc',
        algorithm=TOTP, response_length=8, response_encoding='DECIMAL',
        algorithm_suite='HMAC-SHA256', secret=TOTP_SECRET,
        time_offset=0, time_interval=60)
    return p


p = container()
p.write('plain.pskcxml')

# Pre-shared AES-128 key, MAC HMAC-SHA256 with a random MAC key (itself encrypted); the
# counter and time interval are encrypted too, as big-endian integers.
p = container()
p.encryption.setup_preshared_key(
    key=PRESHARED_KEY, key_name='Pre-shared-key', algorithm='aes128-cbc',
    fields=['secret', 'counter', 'time_interval'])
p.mac.setup(algorithm='hmac-sha256')
p.write('preshared.pskcxml')

# PBKDF2 (HMAC-SHA256 PRF, 2000 rounds so the tests stay fast) deriving an AES-256 key,
# MAC HMAC-SHA1 (the default).
p = container()
p.encryption.setup_pbkdf2(
    PASSWORD, key_name='Passphrase', algorithm='aes256-cbc', iterations=2000,
    prf='hmac-sha256')
p.write('pbkdf2.pskcxml')



def derive(p):
    # python-pskc 1.2 writes the PRF as the text of <PRF> but reads only its Algorithm
    # attribute, so it cannot read its own HMAC-SHA256 PRF back: tell it.
    p.encryption.derivation.pbkdf2_prf = 'hmac-sha256'
    p.encryption.derive_key(PASSWORD)


# Check that python-pskc reads back what it wrote.
for name, setup in (
        ('plain.pskcxml', lambda p: None),
        ('preshared.pskcxml',
         lambda p: setattr(p.encryption, 'key', PRESHARED_KEY)),
        ('pbkdf2.pskcxml', derive)):
    p = pskc.PSKC(name)
    setup(p)
    hotp, totp = p.keys
    assert hotp.secret == HOTP_SECRET and hotp.counter == 5, name
    assert totp.secret == TOTP_SECRET and totp.time_interval == 60, name
    assert all(k.check() for k in p.keys), name
print('ok')
