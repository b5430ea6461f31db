"""The simulation: the radio medium (`radio`), the in-process air that wireless agents share
(`air`), the dishonest behaviours the harness injects into agents (`behaviours`), the hostile
node and committee member of the demo (`hostile`) and a committee of oracle operators on one
machine (`committee`). Used by the demo, the tests and the benchmarks; never by the oracle
service or a provider's agent. (The chain side of the local network, deploying and funding
with Ape, is scripts/_simulation.py.)"""
