"""Every byte value, NULs, and each kind of invalid UTF-8, on both streams, in pieces that split sequences."""

import sys
import time

PAYLOAD = (
    bytes(range(256)) * 2
    + b"\x00" * 64
    + b"\xff\xfe\xfd"  # bytes that never appear in UTF-8
    + b"\xc3\x28"  # a lead byte followed by a non-continuation
    + b"\xed\xa0\x80"  # an encoded surrogate
    + b"\xc0\xaf\xe0\x80\xaf"  # overlong encodings
    + b"\xf4\x90\x80\x80"  # past U+10FFFF
    + "caf\u00e9 \u20ac \U0001f600".encode()
    + b"\xe2\x82"  # a sequence cut off at the very end
)
if __name__ == "__main__":
    for stream in (sys.stdout.buffer, sys.stderr.buffer):
        for start in range(0, len(PAYLOAD), 7):
            stream.write(PAYLOAD[start : start + 7])
            stream.flush()
            time.sleep(0.001)
