"""Scheduler app: PUS service 11 time-based scheduling of TCs, each activity
owned by the key holder that scheduled it."""

from fsw.apps.scheduler.app import (
    MAX_ACTIVITIES,
    RELEASED_TC_HEADER,
    RELEASED_TC_MAX,
    RELEASED_TC_MSG_ID,
    SCHEDULE_REPORT_HEADER,
    SCHEDULE_REPORT_MSG_ID,
    ST11_FUNCTION,
    ActivityKey,
    Owner,
    SchedulerApp,
)

__all__ = ["MAX_ACTIVITIES", "RELEASED_TC_HEADER", "RELEASED_TC_MAX",
           "RELEASED_TC_MSG_ID", "SCHEDULE_REPORT_HEADER", "SCHEDULE_REPORT_MSG_ID",
           "ST11_FUNCTION",
           "ActivityKey", "Owner", "SchedulerApp"]
