"""The oracle committee: the pure rules (`rules`: signed bundles, the report computed from
them, what a member checks before it signs) and one member's round over HTTP (`member`)."""
