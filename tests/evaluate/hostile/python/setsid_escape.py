# Double fork + setsid: a daemon that leaves the process group and outlives its parent.
import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        while True:
            time.sleep(0.2)
    os._exit(0)
os.wait()
print("parent exits, daemon keeps running")
sys.exit(0)
