"""The worker's stream side, one job per module.

Two stages (docs/architecture.md): the timelines stage (partitioned by item) and the stream stage
(partitioned by stream, the only one that shows a stream's series). `topology` (the Faust app:
topics, tables, agents, timers), `handlers` (what a timelines-stage agent does with a batch of
records, behind Protocols), `facts` (the facts topic's records), `stage` (the stream stage and its
rebuild), `batches` (a fetched batch per partition, written standing on its partition),
`pipeline` (a delivery record into keyed events, pure), `state` (what the agents, alerts and
`/metrics` share), `recovery` (the timelines stage after a recovery),
`gaps` and `offsets` (absorbed offsets and the holes re-read), `admin` (broker I/O outside Faust:
topic creation, re-reads), `topics` (names), `alerts`, `worker` (the process and its HTTP
endpoint), `diagnostics` (what its SIGUSR1 dump adds: where a stalled worker waits),
`faust_patches` (Faust's per-record hand-over), `embedded_broker` (the Tansu process) and
`tansu_workarounds` (its bugs' patches).
"""
