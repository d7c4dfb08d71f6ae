using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// Per-tenant request limits shared by every API instance: a counter per tenant and second in Redis
/// (INCR, expiring after two seconds). Fails open: without Redis, requests are served and the
/// failure is metered, because refusing all traffic when the cache is down is worse than no limit.
/// </summary>
public sealed class RateLimiter(RedisConnection redis)
{
    private static readonly Meter Meter = new("Tally.Redis");
    private static readonly Counter<long> Limited = Meter.CreateCounter<long>("tally_rate_limited");

    /// <summary>Null when allowed; otherwise the seconds to wait before retrying.</summary>
    public async Task<int?> CheckAsync(string tenantId)
    {
        var options = redis.Options;
        var limit = options.TenantRequestsPerSecond.TryGetValue(tenantId, out var own) ? own : options.RequestsPerSecond;
        if (limit == 0 || redis.Database is not { } db) return null;
        var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var key = $"tally:{tenantId}:rate:{second}";
        try
        {
            var count = await db.StringIncrementAsync(key);
            if (count == 1) _ = db.KeyExpireAsync(key, TimeSpan.FromSeconds(2), flags: CommandFlags.FireAndForget);
            if (count <= limit) return null;
            Limited.Add(1);
            return 1;
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("checking a rate limit", ex);
            return null;
        }
    }
}
