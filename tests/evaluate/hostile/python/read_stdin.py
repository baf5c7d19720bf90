# Wait for input that never comes: stdin, then the controlling terminal.
import sys

data = sys.stdin.read()
print(f"stdin gave {len(data)} bytes")
try:
    with open("/dev/tty") as tty:
        tty.readline()
        print("ESCAPED read /dev/tty")
except OSError as exc:
    print(f"no tty: {exc}")
input()  # EOFError: the program fails instead of hanging
