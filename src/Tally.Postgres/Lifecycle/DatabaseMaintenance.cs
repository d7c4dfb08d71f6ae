using Npgsql;

namespace Tally.Postgres.Lifecycle;

/// <summary>
/// The statements of <c>tally maintain</c> beside the retention and partition work: one maintainer at a time (a session
/// advisory lock), VACUUM and ANALYZE of Tally's busy tables, and the database's clock.
/// </summary>
internal sealed class DatabaseMaintenance(NpgsqlDataSource dataSource)
{
    /// <summary>The tables VACUUM visits: the log and its deduplication table, where removals leave dead rows.</summary>
    public static readonly IReadOnlyList<string> VacuumedTables = ["user_action_events", "event_dedup"];

    /// <summary>The tables ANALYZE visits: the log and the tables derived from it.</summary>
    public static readonly IReadOnlyList<string> AnalyzedTables =
        ["user_action_events", "user_state", "user_daily_stats", "user_stats_summary", "leaderboard_snapshots", "global_stats_rollup"];

    /// <summary>Takes the maintenance lock (shared with the silos' retention runner) on a connection of its own, held until
    /// the returned lease is disposed; null if another maintainer holds it.</summary>
    public async Task<IAsyncDisposable?> TryLockAsync(CancellationToken ct)
    {
        var conn = await dataSource.OpenConnectionAsync(ct);
        try
        {
            await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1)", conn) { Parameters = { new() { Value = RetentionRunner.MaintenanceLock } } };
            if ((bool)(await cmd.ExecuteScalarAsync(ct))!) return conn; // closing the session releases the lock
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
        await conn.DisposeAsync();
        return null;
    }

    /// <summary>VACUUM (ANALYZE) of one of <see cref="VacuumedTables"/>, without a time limit.</summary>
    public Task VacuumAsync(string table, CancellationToken ct) => RunAsync(VacuumedTables, table, "VACUUM (ANALYZE) ", ct);

    /// <summary>ANALYZE of one of <see cref="AnalyzedTables"/>, without a time limit.</summary>
    public Task AnalyzeAsync(string table, CancellationToken ct) => RunAsync(AnalyzedTables, table, "ANALYZE ", ct);

    /// <summary>The database's clock less <paramref name="ago"/>: cut-offs compared with <c>received_at</c> use the clock
    /// that stamped it.</summary>
    public async Task<DateTimeOffset> DatabaseTimeAgoAsync(TimeSpan ago, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT now() - make_interval(secs => $1)");
        cmd.Parameters.Add(new() { Value = ago.TotalSeconds });
        return new DateTimeOffset(DateTime.SpecifyKind((DateTime)(await cmd.ExecuteScalarAsync(ct))!, DateTimeKind.Utc));
    }

    private async Task RunAsync(IReadOnlyList<string> allowed, string table, string statement, CancellationToken ct)
    {
        // Table names cannot be parameters: only the known ones are ever spliced in.
        if (!allowed.Contains(table)) throw new ArgumentException($"'{table}' is not a table tally maintain visits.", nameof(table));
        await using var cmd = dataSource.CreateCommand(statement + table);
        cmd.CommandTimeout = 0;
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
