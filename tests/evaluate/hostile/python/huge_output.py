# Flood stdout and stderr forever.
import sys

line = "x" * 1023 + "\n"
while True:
    sys.stdout.write(line)
    sys.stderr.write(line)
