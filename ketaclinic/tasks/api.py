"""JSON API for tasks (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["tasks"])
