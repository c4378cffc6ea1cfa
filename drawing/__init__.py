"""One drawing job, host-neutral: the pipeline under one deadline, the job board, admission, the /pic logic."""
