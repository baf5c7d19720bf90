# Connect to a listener on the host's loopback and send a message.
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
try:
    with socket.create_connection((host, port), timeout=3) as s:
        s.sendall(b"ESCAPED")
    print(f"ESCAPED connected to {host}:{port}")
except OSError as exc:
    print(f"blocked: {exc}")
    sys.exit(1)
