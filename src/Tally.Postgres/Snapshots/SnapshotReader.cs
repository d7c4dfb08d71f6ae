using Npgsql;

namespace Tally.Postgres.Snapshots;

/// <summary>Reads closed boards and rollups from their last snapshot, from the replica when one is configured.</summary>
internal sealed class SnapshotReader(NpgsqlDataSource dataSource, ReadDataSource? reads = null)
{
    /// <summary>A closed board's page from its last snapshot, with its member count (0 and empty if never snapshotted).</summary>
    public Task<(long Members, List<(int Rank, string UserId, decimal Score)> Entries)> ReadLeaderboardAsync(
        string tenantId, string measure, string scope, string period, string periodKey, int offset, int limit, CancellationToken ct) =>
        Read(db => ReadLeaderboardAsync(db, tenantId, measure, scope, period, periodKey, offset, limit, ct), ct);

    // Closed boards and rollups change only by their last snapshot: a replica's lag does not matter to these reads.
    private Task<T> Read<T>(Func<NpgsqlDataSource, Task<T>> read, CancellationToken ct) => reads is null ? read(dataSource) : reads.ReadAsync(read, ct);

    private static async Task<(long Members, List<(int Rank, string UserId, decimal Score)> Entries)> ReadLeaderboardAsync(NpgsqlDataSource dataSource,
        string tenantId, string measure, string scope, string period, string periodKey, int offset, int limit, CancellationToken ct)
    {
        var entries = new List<(int, string, decimal)>();
        long members = 0;
        await using var cmd = dataSource.CreateCommand("""
            SELECT rank, user_id, score, members FROM leaderboard_snapshots
             WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND rank > $6
             ORDER BY rank LIMIT $7
            """);
        foreach (var v in new object[] { tenantId, measure, scope, period, periodKey, offset, limit }) cmd.Parameters.Add(new() { Value = v });
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                entries.Add((reader.GetInt32(0), reader.GetString(1), reader.GetDecimal(2)));
                members = reader.GetInt64(3);
            }
        if (entries.Count == 0)
        {
            await using var count = dataSource.CreateCommand("""
                SELECT members FROM leaderboard_snapshots
                 WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND rank = 1
                """);
            foreach (var v in new object[] { tenantId, measure, scope, period, periodKey }) count.Parameters.Add(new() { Value = v });
            members = await count.ExecuteScalarAsync(ct) is long m ? m : 0;
        }
        return (members, entries);
    }

    /// <summary>A user's row in a closed board's snapshot, if the user made the snapshot's top N.</summary>
    public Task<int?> ReadSnapshotRankAsync(string tenantId, string measure, string scope, string period, string periodKey, string userId, CancellationToken ct) =>
        Read(db => ReadSnapshotRankAsync(db, tenantId, measure, scope, period, periodKey, userId, ct), ct);

    private static async Task<int?> ReadSnapshotRankAsync(NpgsqlDataSource dataSource, string tenantId, string measure, string scope, string period, string periodKey,
        string userId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT rank FROM leaderboard_snapshots
             WHERE tenant_id = $1 AND measure = $2 AND scope = $3 AND period = $4 AND period_key = $5 AND user_id = $6
            """);
        foreach (var v in new object[] { tenantId, measure, scope, period, periodKey, userId }) cmd.Parameters.Add(new() { Value = v });
        return await cmd.ExecuteScalarAsync(ct) is int rank ? rank : null;
    }

    public Task<(decimal Total, long Users, long Actions, DateTimeOffset ComputedAt)?> ReadRollupAsync(string tenantId, string rollupKey, string measure, CancellationToken ct) =>
        Read(db => ReadRollupAsync(db, tenantId, rollupKey, measure, ct), ct);

    private static async Task<(decimal Total, long Users, long Actions, DateTimeOffset ComputedAt)?> ReadRollupAsync(NpgsqlDataSource dataSource,
        string tenantId, string rollupKey, string measure, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            "SELECT total, users, actions, computed_at FROM global_stats_rollup WHERE tenant_id = $1 AND rollup_key = $2 AND measure = $3");
        foreach (var v in new object[] { tenantId, rollupKey, measure }) cmd.Parameters.Add(new() { Value = v });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return (reader.GetDecimal(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
    }
}
