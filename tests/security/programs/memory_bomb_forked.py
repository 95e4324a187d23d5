"""Eight processes that each take 32 MB, touching every page; the parent waits for them all."""

import os
import sys
import time

for _ in range(8):
    if os.fork() == 0:
        block = bytearray(32 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1)
        os._exit(0)
failed = 0
for _ in range(8):
    _, status = os.wait()
    failed += status != 0
sys.exit(1 if failed else 0)
