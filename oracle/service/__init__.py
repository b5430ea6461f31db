"""The operator's pipeline: the chain view (`chain`), the challenge stage over HTTP
(`challenge`), scoring (`score`), the report (`report`), the durable store (`store`), the
stages over the store (`pipeline`), the HTTP API (`api`) and the operator's settings
(`config`). Imports `oracle.protocol`, never `oracle.agent`."""
