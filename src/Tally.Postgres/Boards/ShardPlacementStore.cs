using Npgsql;

namespace Tally.Postgres.Boards;

/// <summary>
/// Where a tenant's saved user states say each user's board shard is (<c>user_state.shard</c>): what a resharding
/// reads in user-id order and rewrites, so that shards rebuild from the rows of the users they now hold.
/// </summary>
internal sealed class ShardPlacementStore(NpgsqlDataSource dataSource)
{
    /// <summary>Up to <paramref name="limit"/> saved users after <paramref name="afterUserId"/> in the key's order with their stored shard.</summary>
    public async Task<List<(string UserId, int Shard)>> ReadAsync(string tenantId, string afterUserId, int limit, CancellationToken ct)
    {
        var rows = new List<(string, int)>(limit);
        await using var cmd = dataSource.CreateCommand("""
            SELECT user_id, shard FROM user_state
             WHERE tenant_id = $1 AND user_id > $2
             ORDER BY user_id LIMIT $3
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = afterUserId });
        cmd.Parameters.Add(new() { Value = limit });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetInt32(1)));
        return rows;
    }

    /// <summary>Sets each named user's stored shard in one statement; returns the rows changed.</summary>
    public async Task<int> MoveAsync(string tenantId, string[] userIds, int[] shards, CancellationToken ct)
    {
        if (userIds.Length == 0) return 0;
        await using var cmd = dataSource.CreateCommand("""
            UPDATE user_state s SET shard = m.shard
              FROM unnest($2::text[], $3::int[]) AS m(user_id, shard)
             WHERE s.tenant_id = $1 AND s.user_id = m.user_id AND s.shard <> m.shard
            """);
        cmd.Parameters.Add(new() { Value = tenantId });
        cmd.Parameters.Add(new() { Value = userIds });
        cmd.Parameters.Add(new() { Value = shards });
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
