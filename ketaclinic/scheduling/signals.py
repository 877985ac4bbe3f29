"""Signals other apps use to stay in step with appointments without scheduling importing them.

``appointment_status_changing`` is sent inside the transaction before an appointment's status changes; a receiver
may refuse the change by raising ``ValueError`` with a message for the user (the session day refuses to cancel an
appointment whose dose has started). ``appointment_status_changed`` is sent after the change is saved, still in the
same transaction, so a receiver's writes commit or roll back with it.
"""

from django.dispatch import Signal

#: Sent with ``appointment`` (locked, old status), ``status`` (the new one) and ``by``.
appointment_status_changing = Signal()
#: Sent with ``appointment`` (saved, new status) and ``by``.
appointment_status_changed = Signal()
