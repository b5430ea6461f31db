"""The simulation: the radio medium (`radio`), the in-process air that wireless agents share
(`air`), the dishonest behaviours the harness injects into agents (`behaviours`) and the
hostile node and committee member of the demo (`hostile`). Used by
the demo, the tests and the benchmarks; never by the oracle service or a provider's agent."""
