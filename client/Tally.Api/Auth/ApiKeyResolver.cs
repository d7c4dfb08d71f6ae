using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Npgsql;
using Tally.Api.Hosting;
using Tally.Postgres.Tenants;

namespace Tally.Api.Auth;

/// <summary>What a presented key turned out to be.</summary>
internal enum KeyOutcome { Valid, Unknown, Blocked }

internal readonly record struct KeyResolution(KeyOutcome Outcome, ApiKeyGrant? Grant, int RetryAfterSeconds = 0);

/// <summary>
/// Resolves tenant keys to grants with as few PostgreSQL round trips as an attacker can force:
/// <list type="bullet">
/// <item>Valid keys are trusted for <see cref="ApiOptions.KeyCacheSeconds"/>; that is the bound on how long a
/// revoked key keeps working on another API instance (the instance that revokes forgets it at once). While
/// PostgreSQL is unreachable a known key keeps working from this cache.</item>
/// <item>Unknown keys are remembered for <see cref="ApiOptions.NegativeKeyCacheSeconds"/> (bounded in size), so a
/// flood of one bogus key costs one lookup. Secrets are 192-bit random, so no real key is ever remembered as unknown.</item>
/// <item>A source (client address) with more than <see cref="ApiOptions.FailedAuthPerMinute"/> failed attempts in a
/// minute is answered 429 without any lookup until the minute is over, except for keys this instance has seen
/// valid: those are looked up again, so a client behind the same address as a failing one (or a proxy, or the
/// loopback during a fault) keeps working once its cache entry lapses. A secret cannot be guessed, so that
/// exception gives an attacker nothing.</item>
/// </list>
/// </summary>
internal sealed class ApiKeyResolver(TenantStore store, IOptions<ApiOptions> options, TimeProvider clock, ApiMetrics metrics, ILogger<ApiKeyResolver> logger)
{
    private readonly ApiOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, (ApiKeyGrant Grant, DateTimeOffset Until)> _valid = new(StringComparer.Ordinal);
    private readonly MemoryCache _unknown = new(new MemoryCacheOptions { SizeLimit = 100_000 });
    private readonly MemoryCache _failures = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    public async ValueTask<KeyResolution> ResolveAsync(string secret, string source, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_valid.TryGetValue(secret, out var hit) && hit.Until > now)
            return new KeyResolution(KeyOutcome.Valid, hit.Grant);
        if (hit.Grant is null && Blocked(source, now) is { } wait)
        {
            metrics.AuthBlocked.Add(1);
            return new KeyResolution(KeyOutcome.Blocked, null, wait);
        }
        if (_unknown.TryGetValue(secret, out _))
            return Failed(source, now);

        ApiKeyGrant? grant;
        try
        {
            metrics.KeyLookups.Add(1);
            grant = await store.FindKeyAsync(secret, ct);
        }
        catch (Exception ex) when (hit.Grant is not null && ex is NpgsqlException or TimeoutException)
        {
            // PostgreSQL is away: a key known a moment ago keeps working (revocation needs PostgreSQL too).
            return new KeyResolution(KeyOutcome.Valid, hit.Grant);
        }
        if (grant is null)
        {
            if (hit.Grant is not null) _valid.TryRemove(secret, out _); // revoked since this instance last saw it
            _unknown.Set(secret, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(_options.NegativeKeyCacheSeconds) });
            return Failed(source, now);
        }
        _valid[secret] = (grant, now.AddSeconds(_options.KeyCacheSeconds));
        return new KeyResolution(KeyOutcome.Valid, grant);
    }

    /// <summary>Forgets a key at once on this instance (after it is revoked here).</summary>
    public void Forget(string keyId)
    {
        foreach (var (secret, entry) in _valid)
            if (entry.Grant.KeyId == keyId) _valid.TryRemove(secret, out _);
    }

    private KeyResolution Failed(string source, DateTimeOffset now)
    {
        metrics.AuthFailures.Add(1);
        var window = _failures.GetOrCreate(source, entry =>
        {
            entry.Size = 1;
            entry.AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1);
            return new FailureWindow(now.AddMinutes(1));
        })!;
        if (Interlocked.Increment(ref window.Count) == _options.FailedAuthPerMinute && _options.FailedAuthPerMinute > 0)
            logger.LogWarning("{Source} sent {Count} requests with unknown keys within a minute; its unknown keys are answered 429 until {Until:u}.",
                source, _options.FailedAuthPerMinute, window.Until);
        return new KeyResolution(KeyOutcome.Unknown, null);
    }

    private int? Blocked(string source, DateTimeOffset now)
    {
        if (_options.FailedAuthPerMinute == 0 || !_failures.TryGetValue(source, out FailureWindow? window) || window is null) return null;
        if (Volatile.Read(ref window.Count) < _options.FailedAuthPerMinute) return null;
        return Math.Max(1, (int)Math.Ceiling((window.Until - now).TotalSeconds));
    }

    private sealed class FailureWindow(DateTimeOffset until)
    {
        public readonly DateTimeOffset Until = until;
        public int Count;
    }
}
