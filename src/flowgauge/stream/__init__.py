"""The Faust side: app factory, topics, the table, thin agents, broker workarounds."""
