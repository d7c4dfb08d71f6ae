using Npgsql;

namespace Tally.Postgres.Goals;

/// <summary>A recorded completion as the API lists it (instants in UTC).</summary>
internal sealed record StoredCompletion(string Goal, int Level, decimal Target, string WindowKey, DateTimeOffset CompletedAt, decimal Value);

/// <summary>Reads of <c>goal_completions</c>: a user's history page, and users per level of an instance the shards no longer hold.</summary>
internal sealed class GoalStore(NpgsqlDataSource dataSource, ReadDataSource? reads = null)
{
    /// <summary>A user's completions ordered by completed_at, then goal, then level, and how many there are.</summary>
    public async Task<(long Total, List<StoredCompletion> Entries)> ReadPageAsync(string tenantId, string userId, int offset, int limit, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT goal, level, target, window_key, completed_at, value, count(*) OVER ()
              FROM goal_completions WHERE tenant_id = $1 AND user_id = $2
             ORDER BY completed_at, goal, level, window_key OFFSET $3 LIMIT $4
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = userId });
        cmd.Parameters.Add(new() { Value = (long)offset });
        cmd.Parameters.Add(new() { Value = (long)limit });
        var entries = new List<StoredCompletion>();
        long total = -1;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                entries.Add(new StoredCompletion(reader.GetString(0), reader.GetInt32(1), reader.GetDecimal(2), reader.GetString(3),
                    reader.GetFieldValue<DateTimeOffset>(4), reader.GetDecimal(5)));
                total = reader.GetInt64(6);
            }
        // An offset past the end returns no row to carry the window count.
        if (total < 0) total = await CountAsync(tenantId, userId, ct);
        return (total, entries);
    }

    private async Task<long> CountAsync(string tenantId, string userId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM goal_completions WHERE tenant_id = $1 AND user_id = $2");
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = userId });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Users who completed each level of one instance, from the recorded completions (level → users).</summary>
    public Task<Dictionary<int, long>> CountLevelsAsync(string tenantId, string goal, string windowKey, CancellationToken ct = default) =>
        reads is null ? CountLevelsAsync(dataSource, tenantId, goal, windowKey, ct) : reads.ReadAsync(db => CountLevelsAsync(db, tenantId, goal, windowKey, ct), ct);

    // An ended instance's completions are final but for late events: the replica's lag does not matter here.
    private static async Task<Dictionary<int, long>> CountLevelsAsync(NpgsqlDataSource dataSource, string tenantId, string goal, string windowKey, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT level, count(*) FROM goal_completions WHERE tenant_id = $1 AND goal = $2 AND window_key = $3 GROUP BY level
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = goal });
        cmd.Parameters.Add(new() { Value = windowKey });
        var counts = new Dictionary<int, long>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) counts[reader.GetInt32(0)] = reader.GetInt64(1);
        return counts;
    }
}
