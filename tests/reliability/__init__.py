"""Faults, concurrency and hostile input, run for real: processes killed, files damaged, disks full."""
