using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Tally.Redis;

/// <summary>
/// One multiplexer for the process, connecting in the background: a Redis that is down at start-up
/// or goes away later never fails a request, it only turns caching and shared limits off (logged,
/// metered) until it is back.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly ILogger<RedisConnection> _logger;
    private readonly ConnectionMultiplexer? _multiplexer;
    private long _lastWarningTicks;

    private readonly Counter<long> _failures;

    public RedisConnection(IOptions<RedisOptions> options, IMeterFactory meters, ILogger<RedisConnection> logger)
    {
        _logger = logger;
        Meter = meters.Create("Tally.Redis");
        _failures = Meter.CreateCounter<long>("tally_redis_failures");
        Options = options.Value;
        if (string.IsNullOrWhiteSpace(Options.ConnectionString)) return;
        var config = ConfigurationOptions.Parse(Options.ConnectionString);
        config.AbortOnConnectFail = false;
        config.ConnectTimeout = Math.Max(Options.TimeoutMs, 1000);
        config.SyncTimeout = Options.TimeoutMs;
        config.AsyncTimeout = Options.TimeoutMs;
        _multiplexer = ConnectionMultiplexer.Connect(config);
    }

    public RedisOptions Options { get; }

    /// <summary>The Redis area's meter (<c>Tally.Redis</c>): the cache and the limiter add their instruments to it.</summary>
    internal Meter Meter { get; }

    public bool IsConfigured => _multiplexer is not null;

    /// <summary>The database, or null when Redis is not configured or not connected right now.</summary>
    public IDatabase? Database => _multiplexer is { IsConnected: true } m ? m.GetDatabase() : null;

    /// <summary>
    /// Deletes every key of a tenant (<c>tally:{tenant}:*</c>: page cache, board versions, rate counters) on every
    /// primary, by SCAN in pages; returns how many went. Throws when Redis is configured but not connected, so a
    /// tenant removal waits for it rather than leaving keys behind.
    /// </summary>
    public async Task<long> RemoveTenantKeysAsync(string tenantId)
    {
        if (_multiplexer is null) return 0;
        if (!_multiplexer.IsConnected) throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not connected.");
        var db = _multiplexer.GetDatabase();
        long removed = 0;
        foreach (var server in _multiplexer.GetServers())
        {
            if (server.IsReplica || !server.IsConnected) continue;
            var page = new List<RedisKey>(1000);
            // Tenant ids are [a-z0-9_-]: nothing in one is a glob pattern character.
            await foreach (var key in server.KeysAsync(db.Database, $"tally:{tenantId}:*", pageSize: 1000))
            {
                page.Add(key);
                if (page.Count < 1000) continue;
                removed += await db.KeyDeleteAsync(page.ToArray());
                page.Clear();
            }
            if (page.Count > 0) removed += await db.KeyDeleteAsync(page.ToArray());
        }
        return removed;
    }

    /// <summary>Round trip to Redis for readiness; null latency when it does not answer.</summary>
    public async Task<(bool Ok, double? LatencyMs, string? Error)> PingAsync()
    {
        if (_multiplexer is null) return (false, null, "not configured");
        try
        {
            var latency = await _multiplexer.GetDatabase().PingAsync();
            return (true, latency.TotalMilliseconds, null);
        }
        catch (Exception ex)
        {
            return (false, null, ex.Message);
        }
    }

    /// <summary>
    /// Whether an exception from a Redis call means "Redis is not usable right now": a Redis or timeout error,
    /// or a command caught mid-disconnect (the multiplexer then throws InvalidOperationException from its
    /// pipe). Callers fail open on these; anything else is a bug and propagates.
    /// </summary>
    internal static bool IsRedisFailure(Exception ex) =>
        ex is RedisException or TimeoutException or ObjectDisposedException
        || (ex is InvalidOperationException && ex.StackTrace?.Contains("StackExchange.Redis", StringComparison.Ordinal) == true);

    /// <summary>Counts a failure and logs it at most every 10 s, so a Redis outage does not flood the log.</summary>
    internal void ReportFailure(string doing, Exception ex)
    {
        _failures.Add(1);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastWarningTicks);
        if (now - last < 10_000 || Interlocked.CompareExchange(ref _lastWarningTicks, now, last) != last) return;
        _logger.LogWarning("Redis failed while {Doing}: {Message}. Serving without it.", doing, ex.Message);
    }

    public void Dispose() => _multiplexer?.Dispose();
}
