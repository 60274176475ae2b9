"""The checks of quarantine.yaml: protected fixtures, expired entries, unknown fixtures and owners."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from evalloop.model import quarantine
from evalloop.model.findings import Finding
from evalloop.model.quarantine import QuarantineFile
from evalloop.repo import incidents, parse
from evalloop.repo.identities import load_heads
from evalloop.validate.repository import Validation
from evalloop.validate.schema import schema_findings


def check_quarantine(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    """QUA001: a protected fixture quarantined; QUA002: expired entry; REF003: unknown fixture."""
    try:
        entries = QuarantineFile.model_validate(doc.data).quarantine
    except ValidationError as exc:
        yield from schema_findings(doc, QuarantineFile, exc)
        return
    heads = {e.head.id: e.head for e in load_heads(v.repo.root, v.repo.config) if e.head}
    cfg = v.repo.config
    signals = incidents.incident_signals(v.repo.root, cfg)
    known = v.owners()
    for i, q in enumerate(entries):
        line, col = parse.locate(doc, ("quarantine", i, "id"))
        head = heads.get(q.id)
        if head is None:
            yield Finding(path=doc.display, line=line, col=col, code="REF003",
                          message=f"quarantined fixture {q.id!r} does not exist")
            continue
        protected = quarantine.guarded(head.risk, head.incident_id, signals)
        if protected:
            yield Finding(path=doc.display, line=line, col=col, code="QUA001",
                          message=f"fixture {q.id!r} guards {', '.join(protected)}: it can never be quarantined; "
                          "fix the flakiness instead")
        if known is not None and q.owner not in known:
            o_line, o_col = parse.locate(doc, ("quarantine", i, "owner"))
            yield Finding(path=doc.display, line=o_line, col=o_col, code="OWN001",
                          message=f"owner {q.owner!r} is not a known owner")
        if q.expires_at < v.today:
            e_line, e_col = parse.locate(doc, ("quarantine", i, "expires_at"))
            yield Finding(path=doc.display, line=e_line, col=e_col, code="QUA002", level="warning",
                          message=f"quarantine of {q.id!r} expired on {q.expires_at.isoformat()}: "
                          "the fixture blocks again; renew it or remove the entry")
