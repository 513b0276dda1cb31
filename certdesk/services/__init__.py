"""The operations a person performs, as plain functions over dataclasses, one transaction each."""
