using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.Snapshots;

/// <summary>Keeps <c>user_daily_stats</c> (the per-day analytics table) up to date from the event log.</summary>
internal sealed class DailyStatsRefresh(NpgsqlDataSource dataSource)
{
    private static readonly string Sql = EmbeddedSql.Read("Snapshots/DailyStatsRefresh.sql");

    /// <summary>
    /// Brings <c>user_daily_stats</c> up to date for every (tenant, user, day, action) that has events received in
    /// [<paramref name="since"/>, <paramref name="until"/>), in one statement. A row remembers the last event it includes
    /// (<c>through_event_id</c>); a user's event ids grow in commit order (decision 006), so the row's newer events are
    /// exactly those it lacks, and a run adds only them: it costs what arrived, not the user's whole day. Re-running a
    /// window adds nothing twice. A row without a mark (written before migration 0023) or older than the user's removal is
    /// recomputed from the log; events of a removed user up to the removal do not count (decision 012). Each group is
    /// read by the user index within its month's partition (the lateral subquery, kept apart by OFFSET 0, runs once per
    /// group and prunes partitions by its day): the planner cannot turn it into one hash join over the whole log, which it
    /// would on small or unanalysed tables.
    /// </summary>
    /// <returns>The rows written, and the (tenant, action) pairs among them (action ids number them, tally compat).</returns>
    public async Task<(long Rows, List<(string TenantId, string Action)> Actions)> RefreshAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Sql);
        cmd.Parameters.Add(new() { Value = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new() { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.CommandTimeout = SnapshotWriter.JobCommandTimeoutSeconds;
        long rows = 0;
        var actions = new List<(string, string)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            actions.Add((reader.GetString(0), reader.GetString(1)));
            rows += reader.GetInt64(2);
        }
        return (rows, actions);
    }
}
