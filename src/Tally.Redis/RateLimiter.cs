using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// Per-tenant request limits shared by every API instance: a counter per tenant and second in Redis
/// (expiring after two seconds). An instance takes permits from it in blocks (<see cref="BlockFor"/>: 1 for limits
/// under 200, up to 100 for high limits) and spends them locally, so a busy tenant costs Redis one command per block,
/// not one per request. The tenant never gets more than its limit in a second; at most one unspent block per
/// instance (1% of the limit) may go unused in that second. Once Redis says the second is spent, the instance
/// refuses the rest of that second without asking again. Fails open: without Redis, requests are served and the
/// failure is metered, because refusing all traffic when the cache is down is worse than no limit.
/// </summary>
public sealed class RateLimiter(RedisConnection redis, TimeProvider? time = null)
{
    private readonly Counter<long> _limited = redis.Meter.CreateCounter<long>("tally_rate_limited");

    /// <summary>This instance's permits for one tenant in the current second.</summary>
    private sealed class Allowance
    {
        public long Second;
        public long Left;
        public bool Spent;
    }

    private readonly ConcurrentDictionary<string, Allowance> _allowances = new(StringComparer.Ordinal);

    /// <summary>Permits taken from Redis at a time for a limit: a hundredth of it, at least 1 and at most 100.</summary>
    public static long BlockFor(long limit) => Math.Clamp(limit / 100, 1, 100);

    /// <summary>Null when allowed; otherwise the seconds to wait before retrying.</summary>
    public async Task<int?> CheckAsync(string tenantId)
    {
        var options = redis.Options;
        var limit = options.TenantRequestsPerSecond.TryGetValue(tenantId, out var own) ? own : options.RequestsPerSecond;
        if (limit == 0 || redis.Database is not { } db) return null;
        var second = (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
        var allowance = _allowances.GetOrAdd(tenantId, static _ => new Allowance());
        lock (allowance)
        {
            if (allowance.Second != second) (allowance.Second, allowance.Left, allowance.Spent) = (second, 0, false);
            if (allowance.Left > 0)
            {
                allowance.Left--;
                return null;
            }
            if (allowance.Spent) return Refuse();
        }

        var block = BlockFor(limit);
        var key = $"tally:{tenantId}:rate:{second}";
        try
        {
            var count = await db.StringIncrementAsync(key, block);
            var before = count - block;
            if (before == 0) _ = db.KeyExpireAsync(key, TimeSpan.FromSeconds(2), flags: CommandFlags.FireAndForget);
            var granted = Math.Clamp(limit - before, 0, block);
            lock (allowance)
            {
                if (granted == 0)
                {
                    if (allowance.Second == second) allowance.Spent = true;
                    return Refuse();
                }
                if (allowance.Second == second) allowance.Left += granted - 1;
                return null;
            }
        }
        catch (Exception ex) when (RedisConnection.IsRedisFailure(ex))
        {
            redis.ReportFailure("checking a rate limit", ex);
            return null;
        }
    }

    private int Refuse()
    {
        _limited.Add(1);
        return 1;
    }
}
