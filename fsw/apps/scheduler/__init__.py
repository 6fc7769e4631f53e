"""Scheduler app: PUS service 11 time-based scheduling of TCs."""

from fsw.apps.scheduler.app import MAX_ACTIVITIES, SchedulerApp

__all__ = ["MAX_ACTIVITIES", "SchedulerApp"]
