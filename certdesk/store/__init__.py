"""Persistence: one peewee DatabaseProxy, the models, schema versions and migrations."""
