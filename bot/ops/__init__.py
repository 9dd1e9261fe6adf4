"""Operations: the health/metrics HTTP server and the log format."""
