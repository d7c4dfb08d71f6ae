using System.Diagnostics;
using System.Diagnostics.Metrics;
using Npgsql;

namespace Tally.Postgres;

/// <summary>Answers "is PostgreSQL there, how fast, and how full is the pool" for readiness checks.</summary>
public sealed class PostgresHealth : IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private long _idle, _used;

    public PostgresHealth(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        // Npgsql reports connection counts by state on its own meter; we read them on demand.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name == "db.client.connection.count")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<int>((_, value, tags, _) => Record(value, tags));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Record(value, tags));
        _listener.Start();
    }

    public async Task<PostgresProbe> ProbeAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var cmd = _dataSource.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(ct);
            var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (_gate) { _idle = 0; _used = 0; }
            _listener.RecordObservableInstruments();
            var builder = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
            lock (_gate)
                return new PostgresProbe(true, latency, _idle, _used, builder.MaxPoolSize, null);
        }
        catch (Exception ex)
        {
            return new PostgresProbe(false, Stopwatch.GetElapsedTime(started).TotalMilliseconds, 0, 0, 0, ex.Message);
        }
    }

    private void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
            if (tag.Key == "db.client.connection.state")
                lock (_gate)
                {
                    if ((string?)tag.Value == "idle") _idle += value; else _used += value;
                }
    }

    public void Dispose() => _listener.Dispose();
}

public sealed record PostgresProbe(bool Ok, double LatencyMs, long IdleConnections, long UsedConnections, int MaxPoolSize, string? Error);
