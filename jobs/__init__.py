"""Thin RQ jobs: each takes ids or plain values, loads what it needs, calls a service.

Jobs run inside an app context (the worker pushes one per job). app/ never
imports this package at import time; it enqueues by dotted path.
"""
