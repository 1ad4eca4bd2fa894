"""The admin for tags, replacing django-taggit's own TagAdmin (see admin.py)."""
