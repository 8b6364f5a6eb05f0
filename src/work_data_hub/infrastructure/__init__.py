"""Infrastructure: building blocks that know no business domain."""
