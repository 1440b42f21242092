"""`SchedulerRuntime` in a child process the test can SIGKILL (settings from the
FLEETCARE_SCHEDULER_* environment, without the whole CLI's imports)."""

import sys

from scheduler.config import load_scheduler_settings
from scheduler.runtime import SchedulerRuntime

if __name__ == "__main__":
    SchedulerRuntime(sys.argv[1], load_scheduler_settings()).run_until_stopped()
