"""Releases: the known-good ledger (`releases/<env>.jsonl`), artifact digests and the rollback."""
