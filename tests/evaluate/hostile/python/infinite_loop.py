# Burn CPU forever and ignore the polite signals.
import signal

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
while True:
    pass
