"""Reports: per-case HTML pages gathering measurements, scenario results and figures."""
