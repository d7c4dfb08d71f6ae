-- Silo figures are scraped from each silo's /metrics (OpenTelemetry); nothing publishes them to PostgreSQL any more.
DROP TABLE IF EXISTS silo_metrics;
