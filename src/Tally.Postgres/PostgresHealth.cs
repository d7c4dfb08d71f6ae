using System.Diagnostics;
using System.Diagnostics.Metrics;
using Npgsql;

namespace Tally.Postgres;

/// <summary>
/// Answers "is PostgreSQL there, how fast, and how full is each pool" for readiness checks: the primary's pool (writes
/// and reads that must be current) and, when configured, the read replica's (the analytics seed's write and read pools,
/// with size, idle, busy and waiting counts).
/// </summary>
internal sealed class PostgresHealth : IDisposable
{
    private readonly ReadDataSource _reads;
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PoolCounts> _pools = new(StringComparer.Ordinal);

    public PostgresHealth(ReadDataSource reads)
    {
        _reads = reads;
        // Npgsql reports connections by state and requests waiting for one on its own meter, per pool name.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Npgsql" && instrument.Name is "db.client.connection.count" or "db.client.connection.npgsql.pending_requests")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _listener.Start();
    }

    /// <summary>The primary: a round trip and its pool.</summary>
    public Task<PostgresProbe> ProbeAsync(CancellationToken ct) => ProbeAsync(_reads.Primary, ReadDataSource.PrimaryPoolName, ct);

    /// <summary>The read replica, or null when none is configured. <see cref="PostgresProbe.Serving"/> says whether reads go to it now.</summary>
    public async Task<PostgresProbe?> ProbeReplicaAsync(CancellationToken ct) =>
        _reads.Replica is { } replica ? await ProbeAsync(replica, ReadDataSource.ReplicaPoolName, ct) with { Serving = _reads.UsesReplica } : null;

    private async Task<PostgresProbe> ProbeAsync(NpgsqlDataSource dataSource, string poolName, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var max = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxPoolSize;
        try
        {
            await using var cmd = dataSource.CreateCommand("SELECT 1");
            await cmd.ExecuteScalarAsync(ct);
            var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var pool = Counts(poolName);
            return new PostgresProbe(true, latency, pool.Idle, pool.Busy, max, null, pool.Waiting);
        }
        catch (Exception ex)
        {
            var pool = Counts(poolName);
            return new PostgresProbe(false, Stopwatch.GetElapsedTime(started).TotalMilliseconds, pool.Idle, pool.Busy, max, ex.Message, pool.Waiting);
        }
    }

    private PoolCounts Counts(string poolName)
    {
        lock (_gate) _pools.Clear();
        _listener.RecordObservableInstruments();
        lock (_gate) return _pools.GetValueOrDefault(poolName);
    }

    private void Record(string instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? pool = null, state = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "db.client.connection.pool.name") pool = tag.Value as string;
            else if (tag.Key == "db.client.connection.state") state = tag.Value as string;
        }
        if (pool is null) return;
        lock (_gate)
        {
            var counts = _pools.GetValueOrDefault(pool);
            if (instrument == "db.client.connection.npgsql.pending_requests") counts = counts with { Waiting = counts.Waiting + value };
            else if (state == "idle") counts = counts with { Idle = counts.Idle + value };
            else counts = counts with { Busy = counts.Busy + value };
            _pools[pool] = counts;
        }
    }

    public void Dispose() => _listener.Dispose();

    private readonly record struct PoolCounts(long Idle, long Busy, long Waiting);
}

/// <summary>One pool's answer: whether it answered and how fast, and its connections (idle, busy, the maximum) and the
/// requests waiting for one. <paramref name="Serving"/>: for the replica, whether reads go to it now.</summary>
internal sealed record PostgresProbe(bool Ok, double LatencyMs, long IdleConnections, long UsedConnections, int MaxPoolSize, string? Error,
    long WaitingRequests = 0, bool Serving = true);
