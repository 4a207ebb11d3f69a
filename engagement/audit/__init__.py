"""Who did what and when: the append-only audit log kept in the store beside the jobs (and in Redis when scaled out)."""

from engagement.audit.log import ACTIONS, AUDIT_TABLE, AuditEntry, AuditLog

__all__ = ["ACTIONS", "AUDIT_TABLE", "AuditEntry", "AuditLog"]
