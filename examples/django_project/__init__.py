"""The Django example project (``manage.py`` is in this folder)."""
