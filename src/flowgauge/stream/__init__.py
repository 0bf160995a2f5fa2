"""The worker's stream side, one job per module.

`topology` (the Faust app: topics, table, agents, timers), `handlers` (what an agent does with a
record, behind Protocols), `pipeline` (a delivery record into keyed events, pure), `state` (what
the agents, alerts and `/metrics` share), `recovery` (the processor rebuilt after a recovery),
`gaps` and `offsets` (absorbed offsets and the holes re-read), `admin` (broker I/O outside Faust:
topic creation, re-reads), `topics` (names), `alerts`, `worker` (the process and its HTTP
endpoint), `embedded_broker` (the Tansu process) and `tansu_workarounds` (its bugs' patches).
"""
