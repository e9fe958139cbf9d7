"""Jobs: the pure core that decides (core, dispatch), how a job is planned (plan), the
thin socket loop that acts (sockets), local workers (local), the follow-mode driver
(followjob) and its sliding window (window)."""
