using System.IO.Hashing;
using System.Text;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// Each leaderboard's content version, as board shards report it: one Redis hash per board
/// (<c>tally:{tenant}:bv:{board}</c>), one field per shard holding that shard's version of the
/// board (its activation and change count). The page cache keys pages by the hash of all fields,
/// so a change on any shard makes a new key at once. A shard writes its version only after
/// applying the change, so a page fetched after reading a version is at least that new.
/// </summary>
public sealed class BoardVersions(RedisConnection redis)
{
    /// <summary>An idle board's versions expire after this; its pages are then cached briefly by time alone.</summary>
    private static readonly TimeSpan Expiry = TimeSpan.FromDays(1);

    public static string Key(string tenantId, string board) => $"tally:{tenantId}:bv:{board}";

    public bool IsConfigured => redis.IsConfigured;

    /// <summary>Writes shards' versions in one pipeline. Returns false (and meters it) when Redis did not take them.</summary>
    public async Task<bool> WriteAsync(IReadOnlyCollection<BoardVersion> versions)
    {
        if (versions.Count == 0) return true;
        if (redis.Database is not { } db) return false;
        try
        {
            var batch = db.CreateBatch();
            var writes = new List<Task>(versions.Count * 2);
            foreach (var v in versions)
            {
                var key = Key(v.TenantId, v.Board);
                writes.Add(batch.HashSetAsync(key, v.Shard, v.Version));
                writes.Add(batch.KeyExpireAsync(key, Expiry));
            }
            batch.Execute();
            await Task.WhenAll(writes);
            return true;
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("writing board versions", ex);
            return false;
        }
    }

    /// <summary>The board's current version as one short string; null when unknown (never written, expired, or Redis is away).</summary>
    public async Task<string?> ReadAsync(string tenantId, string board)
    {
        if (redis.Database is not { } db) return null;
        try
        {
            var fields = await db.HashGetAllAsync(Key(tenantId, board));
            if (fields.Length == 0) return null;
            Array.Sort(fields, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var hash = new XxHash64();
            foreach (var f in fields) hash.Append(Encoding.UTF8.GetBytes($"{f.Name}={f.Value};"));
            return Convert.ToHexStringLower(hash.GetCurrentHash());
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("reading a board version", ex);
            return null;
        }
    }
}

/// <summary>One shard's version of one board.</summary>
public readonly record struct BoardVersion(string TenantId, string Board, int Shard, string Version);
