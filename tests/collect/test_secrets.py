"""Secrets and PII redaction: each kind replaced and counted; look-alikes left alone."""

from __future__ import annotations

from codegen_cli.collect.secrets import redact


def test_each_secret_kind_is_replaced_and_counted():
    text = "\n".join([
        "contact = 'jane.doe@example.com'",
        "server = '8.8.4.4'",
        "v6 = '2001:4860:4860::8888'",
        "aws = 'AKIAIOSFODNN7EXAMPLE'",
        "gh = 'ghp_" + "a1B2" * 9 + "'",
        "slack = 'xoxb-123456789012-abcdefghijkl'",
        "google = 'AIza" + "x" * 35 + "'",
        "jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
        "-----BEGIN RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA", "-----END RSA PRIVATE KEY-----",
    ])
    out, counts = redact(text)
    assert counts == {"email": 1, "ipv4": 1, "ipv6": 1, "aws_key": 1, "github_token": 1, "slack_token": 1,
                      "google_api_key": 1, "jwt": 1, "private_key": 1}
    for secret in ("jane.doe@", "8.8.4.4", "4860::8888", "AKIA", "ghp_", "xoxb-", "AIza", "eyJ", "MIIEp"):
        assert secret not in out
    assert "<EMAIL>" in out and "<IP_ADDRESS>" in out and "<KEY>" in out and "<PRIVATE_KEY>" in out


def test_look_alikes_are_kept():
    text = "\n".join([
        "local = '127.0.0.1'", "lan = '192.168.1.20'", "doc = '192.0.2.1'", "version = '1.2.3.4.5'",
        "std::vector<int> v; a::b();", "@property", "@functools.lru_cache", "x = y@z",
    ])
    out, counts = redact(text)
    assert out == text
    assert not counts
