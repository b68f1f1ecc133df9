# check, demo, deps targets: see tests/
