using Microsoft.Extensions.Options;

namespace Tally.Redis;

/// <summary>Redis for the API (page cache, shared rate limits) and the silo (board versions). Section <c>Tally:Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Tally:Redis";

    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>. Empty: no Redis (no cache, no shared limits).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>How long a leaderboard page whose board version is unknown stays cached (0 = not cached). Bounds how stale such a page can be.</summary>
    public int PageCacheMs { get; set; } = 500;

    /// <summary>
    /// How long a page stays cached under its board version (0 = not cached). A change to the board
    /// makes a new key at once; this bounds memory and how long a lost version write can hide a change.
    /// </summary>
    public int VersionedPageCacheMs { get; set; } = 10_000;

    /// <summary>Requests per second each tenant may make, across every API instance (0 = unlimited).</summary>
    public int RequestsPerSecond { get; set; } = 50_000;

    /// <summary>Per-tenant overrides of <see cref="RequestsPerSecond"/>.</summary>
    public Dictionary<string, int> TenantRequestsPerSecond { get; set; } = new();

    /// <summary>A Redis command slower than this counts as failed and the request goes on without it.</summary>
    public int TimeoutMs { get; set; } = 250;
}

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions o)
    {
        if (o.PageCacheMs is < 0 or > 3_600_000)
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:PageCacheMs must be 0-3600000, was {o.PageCacheMs}.");
        if (o.VersionedPageCacheMs is < 0 or > 3_600_000)
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:VersionedPageCacheMs must be 0-3600000, was {o.VersionedPageCacheMs}.");
        if (o.RequestsPerSecond < 0)
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:RequestsPerSecond must be 0 or more, was {o.RequestsPerSecond}.");
        foreach (var (tenant, limit) in o.TenantRequestsPerSecond)
            if (limit < 0) return ValidateOptionsResult.Fail($"{RedisOptions.Section}:TenantRequestsPerSecond:{tenant} must be 0 or more, was {limit}.");
        if (o.TimeoutMs is < 1 or > 60_000)
            return ValidateOptionsResult.Fail($"{RedisOptions.Section}:TimeoutMs must be 1-60000, was {o.TimeoutMs}.");
        return ValidateOptionsResult.Success;
    }
}
