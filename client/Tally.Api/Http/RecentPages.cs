using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Leaderboard pages this API instance rendered in the last <see cref="ApiOptions.LocalPageCacheMs"/>, answered from
/// memory without asking Redis for the board's version or the page. A hot page read thousands of times a second then
/// costs Redis a few reads a second per instance instead of two per request. The price is freshness: a page may be that
/// much older than the board, which stays inside the contract's "within about a second". Keys carry the tenant and its
/// config version, as the shared cache's do. Bounded: once <see cref="MaxBytes"/> of pages were stored since the last
/// drop, everything is dropped.
/// </summary>
internal sealed class RecentPages(IOptions<ApiOptions> options, TimeProvider clock, ApiMetrics metrics)
{
    private const long MaxBytes = 32L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, (byte[] Body, long At)> _pages = new(StringComparer.Ordinal);
    private readonly long _ttlTicks = options.Value.LocalPageCacheMs * TimeSpan.TicksPerMillisecond;
    private long _bytes;

    public static string Key(string tenantId, long configVersion, string board, int offset, int limit) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tenantId}\n{configVersion}\n{board}\n{offset}\n{limit}");

    public byte[]? Get(string key)
    {
        if (_ttlTicks == 0 || !_pages.TryGetValue(key, out var page) || clock.GetUtcNow().UtcTicks - page.At >= _ttlTicks) return null;
        metrics.LocalPageHits.Add(1);
        return page.Body;
    }

    public void Set(string key, byte[] body)
    {
        if (_ttlTicks == 0) return;
        if (Interlocked.Add(ref _bytes, body.Length) > MaxBytes)
        {
            _pages.Clear();
            Interlocked.Exchange(ref _bytes, body.Length);
        }
        _pages[key] = (body, clock.GetUtcNow().UtcTicks);
    }
}
