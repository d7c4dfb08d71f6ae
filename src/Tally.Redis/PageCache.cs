using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// Short-lived cache of rendered leaderboard pages. Keys carry the tenant, so no tenant can read
/// another's entries, and the tenant config version, so a config change never serves an old shape.
/// </summary>
public sealed class PageCache(RedisConnection redis)
{
    private static readonly Meter Meter = new("Tally.Redis");
    private static readonly Counter<long> Hits = Meter.CreateCounter<long>("tally_page_cache_hits");
    private static readonly Counter<long> Misses = Meter.CreateCounter<long>("tally_page_cache_misses");

    public static string Key(string tenantId, long configVersion, string board, int offset, int limit) =>
        $"tally:{tenantId}:page:v{configVersion}:{board}:{offset}:{limit}";

    public async Task<byte[]?> GetAsync(string key)
    {
        if (redis.Options.PageCacheMs == 0 || redis.Database is not { } db) return null;
        try
        {
            var value = await db.StringGetAsync(key);
            if (value.IsNull)
            {
                Misses.Add(1);
                return null;
            }
            Hits.Add(1);
            return (byte[]?)value;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure("reading the page cache", ex);
            return null;
        }
    }

    public async Task SetAsync(string key, byte[] body)
    {
        if (redis.Options.PageCacheMs == 0 || redis.Database is not { } db) return;
        try
        {
            await db.StringSetAsync(key, body, TimeSpan.FromMilliseconds(redis.Options.PageCacheMs), flags: CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure("writing the page cache", ex);
        }
    }
}
