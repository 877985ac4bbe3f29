"""JSON API for courses (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["courses"])
