"""What a person sees: the value stream map, its figures and charts, as plain data and text.

`model.view` turns a processor's state into one JSON-able dict; the worker's page (`page/`),
`flowgauge report` (its table and html formats) all render that dict, so they show the same
numbers as `/metrics` and `report --format prom`.
"""
