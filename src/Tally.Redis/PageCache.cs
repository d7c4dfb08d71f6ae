using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// Cache of rendered leaderboard pages. Keys carry the tenant, so no tenant can read another's
/// entries; the tenant config version, so a config change never serves an old shape; and the
/// board's content version (<see cref="BoardVersions"/>), so a change to the board is a new key at
/// once. A page whose board version is unknown is cached under a time-only key for
/// <see cref="RedisOptions.PageCacheMs"/>; a versioned one for <see cref="RedisOptions.VersionedPageCacheMs"/>.
/// </summary>
public sealed class PageCache(RedisConnection redis)
{
    private readonly Counter<long> _hits = redis.Meter.CreateCounter<long>("tally_page_cache_hits");
    private readonly Counter<long> _misses = redis.Meter.CreateCounter<long>("tally_page_cache_misses");

    /// <summary>A page's key; <paramref name="boardVersion"/> is null when the board's version is unknown.</summary>
    public static PageKey Key(string tenantId, long configVersion, string board, string? boardVersion, int offset, int limit) =>
        new($"tally:{tenantId}:page:v{configVersion}:{board}:{boardVersion ?? "t"}:{offset}:{limit}", boardVersion is not null);

    private int TtlMs(PageKey key) => key.Versioned ? redis.Options.VersionedPageCacheMs : redis.Options.PageCacheMs;

    public async Task<byte[]?> GetAsync(PageKey key)
    {
        if (TtlMs(key) == 0 || redis.Database is not { } db) return null;
        try
        {
            var value = await db.StringGetAsync(key.Text);
            if (value.IsNull)
            {
                _misses.Add(1);
                return null;
            }
            _hits.Add(1);
            return (byte[]?)value;
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("reading the page cache", ex);
            return null;
        }
    }

    public async Task SetAsync(PageKey key, byte[] body)
    {
        var ttl = TtlMs(key);
        if (ttl == 0 || redis.Database is not { } db) return;
        try
        {
            await db.StringSetAsync(key.Text, body, TimeSpan.FromMilliseconds(ttl), flags: CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("writing the page cache", ex);
        }
    }
}

/// <summary>A cached page's Redis key, and whether it carries the board's version (which sets its lifetime).</summary>
public readonly record struct PageKey(string Text, bool Versioned);
